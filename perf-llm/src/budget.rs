//! In-process spending budgets per user, endpoint or model over an hour or a day: a soft
//! alert (callback + `tracing` WARN, once per window) and an optional hard limit that
//! refuses a call before it is sent. Charges from many threads lose nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use perf_core::clock::Clock;
use rust_decimal::Decimal;

use crate::error::BudgetExceeded;

/// What a budget is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BudgetKey {
    /// An end user.
    User(String),
    /// An application endpoint.
    Endpoint(String),
    /// A model.
    Model(String),
}

impl BudgetKey {
    /// `user:<name>`.
    pub fn user(name: impl Into<String>) -> Self {
        BudgetKey::User(name.into())
    }
    /// `endpoint:<name>`.
    pub fn endpoint(name: impl Into<String>) -> Self {
        BudgetKey::Endpoint(name.into())
    }
    /// `model:<name>`.
    pub fn model(name: impl Into<String>) -> Self {
        BudgetKey::Model(name.into())
    }
}

impl fmt::Display for BudgetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetKey::User(n) => write!(f, "user:{n}"),
            BudgetKey::Endpoint(n) => write!(f, "endpoint:{n}"),
            BudgetKey::Model(n) => write!(f, "model:{n}"),
        }
    }
}

/// The period a budget resets on. With the system clock, windows are aligned to UTC hours
/// and days; with a manual clock, to multiples of the length from its zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// 3600 s.
    Hour,
    /// 86 400 s.
    Day,
}

impl Window {
    fn nanos(self) -> u64 {
        match self {
            Window::Hour => 3_600_000_000_000,
            Window::Day => 86_400_000_000_000,
        }
    }

    /// `hour` or `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }
}

/// A spending limit in USD per window.
///
/// ```
/// use perf_llm::budget::{Budget, Window};
/// use rust_decimal::Decimal;
/// let b = Budget::new(Decimal::new(500, 2), Window::Day) // $5.00 a day
///     .soft_at(Decimal::new(8, 1))                        // alert at 80 %
///     .hard();                                            // refuse calls beyond
/// assert!(b.hard_limit);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The limit per window, USD.
    pub limit: Decimal,
    /// The window.
    pub window: Window,
    /// The fraction of the limit at which the soft alert fires (default 0.8).
    pub soft_fraction: Decimal,
    /// Whether calls are refused once the limit is spent.
    pub hard_limit: bool,
}

impl Budget {
    /// A soft-only budget of `limit` USD per `window`, alerting at 80 %.
    pub fn new(limit: Decimal, window: Window) -> Self {
        Budget {
            limit,
            window,
            soft_fraction: Decimal::new(8, 1),
            hard_limit: false,
        }
    }

    /// Alerts when `fraction` of the limit is spent (clamped to 0..=1).
    pub fn soft_at(mut self, fraction: Decimal) -> Self {
        self.soft_fraction = fraction.clamp(Decimal::ZERO, Decimal::ONE);
        self
    }

    /// Refuses calls once the limit is spent.
    pub fn hard(mut self) -> Self {
        self.hard_limit = true;
        self
    }
}

/// A soft alert: a budget crossed its soft fraction in the current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetAlert {
    /// The budget's key.
    pub key: BudgetKey,
    /// Its window.
    pub window: Window,
    /// Spent in this window, USD.
    pub spent: Decimal,
    /// The limit, USD.
    pub limit: Decimal,
}

#[derive(Debug)]
struct State {
    window_index: u64,
    spent: Decimal,
    alerted: bool,
}

struct Entry {
    budget: Budget,
    state: Mutex<State>,
}

type AlertFn = Arc<dyn Fn(&BudgetAlert) + Send + Sync>;

/// A set of budgets. Attach it to an [`LlmMeter`](crate::LlmMeter) with
/// [`set_budgets`](crate::LlmMeter::set_budgets) so recorded calls are charged.
///
/// ```
/// use perf_llm::budget::{Budget, BudgetKey, Budgets, Window};
/// use rust_decimal::Decimal;
///
/// let budgets = Budgets::new();
/// budgets.set(BudgetKey::user("alice"), Budget::new(Decimal::ONE, Window::Hour).hard());
/// let keys = [BudgetKey::user("alice")];
/// assert!(budgets.check(&keys).is_ok());
/// budgets.charge(&keys, Decimal::ONE);
/// assert!(budgets.check(&keys).is_err()); // the next call is refused before it is sent
/// ```
pub struct Budgets {
    clock: Option<Clock>,
    entries: RwLock<HashMap<BudgetKey, Arc<Entry>>>,
    on_alert: RwLock<Vec<AlertFn>>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field(
                "budgets",
                &self.entries.read().map(|e| e.len()).unwrap_or(0),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Budgets {
    fn default() -> Self {
        Self::new()
    }
}

impl Budgets {
    /// Budgets on the system's wall clock (UTC-aligned windows).
    pub fn new() -> Self {
        Budgets {
            clock: None,
            entries: RwLock::new(HashMap::new()),
            on_alert: RwLock::new(Vec::new()),
        }
    }

    /// Budgets on `clock` (a manual clock in tests).
    pub fn with_clock(clock: Clock) -> Self {
        Budgets {
            clock: Some(clock),
            ..Self::new()
        }
    }

    fn now_nanos(&self) -> u64 {
        match &self.clock {
            Some(c) => c.now_nanos(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        }
    }

    /// Sets (or replaces, resetting its spending) the budget of `key`.
    pub fn set(&self, key: BudgetKey, budget: Budget) {
        let idx = self.now_nanos() / budget.window.nanos();
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key,
                Arc::new(Entry {
                    budget,
                    state: Mutex::new(State {
                        window_index: idx,
                        spent: Decimal::ZERO,
                        alerted: false,
                    }),
                }),
            );
    }

    /// Calls `f` on every soft alert (besides the `tracing` WARN).
    pub fn on_alert(&self, f: impl Fn(&BudgetAlert) + Send + Sync + 'static) {
        self.on_alert
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(f));
    }

    fn entry(&self, key: &BudgetKey) -> Option<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn roll(&self, e: &Entry, st: &mut State) {
        let idx = self.now_nanos() / e.budget.window.nanos();
        if idx != st.window_index {
            st.window_index = idx;
            st.spent = Decimal::ZERO;
            st.alerted = false;
        }
    }

    /// Refuses with [`BudgetExceeded`] if any of `keys` has a hard budget already spent in
    /// this window. Call it before sending a request.
    pub fn check(&self, keys: &[BudgetKey]) -> Result<(), BudgetExceeded> {
        for key in keys {
            let Some(e) = self.entry(key) else { continue };
            if !e.budget.hard_limit {
                continue;
            }
            let mut st = e.state.lock().unwrap_or_else(|p| p.into_inner());
            self.roll(&e, &mut st);
            if st.spent >= e.budget.limit {
                return Err(BudgetExceeded {
                    key: key.to_string(),
                    window: e.budget.window.as_str(),
                    limit: e.budget.limit.normalize(),
                    spent: st.spent.normalize(),
                });
            }
        }
        Ok(())
    }

    /// Adds `usd` to the budgets of `keys`; fires the soft alert of each that crosses its
    /// fraction (once per window).
    pub fn charge(&self, keys: &[BudgetKey], usd: Decimal) {
        for key in keys {
            let Some(e) = self.entry(key) else { continue };
            let alert = {
                let mut st = e.state.lock().unwrap_or_else(|p| p.into_inner());
                self.roll(&e, &mut st);
                st.spent += usd;
                let crossed = st.spent >= e.budget.limit * e.budget.soft_fraction;
                if crossed && !st.alerted {
                    st.alerted = true;
                    Some(BudgetAlert {
                        key: key.clone(),
                        window: e.budget.window,
                        spent: st.spent,
                        limit: e.budget.limit,
                    })
                } else {
                    None
                }
            };
            // Outside the lock: a callback may charge or check again.
            if let Some(a) = alert {
                tracing::warn!(target: "perf_llm", budget = %a.key, window = a.window.as_str(),
                    spent_usd = %a.spent, limit_usd = %a.limit, "LLM budget soft limit reached");
                let callbacks = self
                    .on_alert
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                for f in callbacks {
                    f(&a);
                }
            }
        }
    }

    /// Spent in the current window by `key`, USD; `None` if it has no budget.
    pub fn spent(&self, key: &BudgetKey) -> Option<Decimal> {
        let e = self.entry(key)?;
        let mut st = e.state.lock().unwrap_or_else(|p| p.into_inner());
        self.roll(&e, &mut st);
        Some(st.spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn soft_alert_fires_once_per_window_and_hard_limit_refuses() {
        let (clock, hand) = Clock::manual();
        let b = Budgets::with_clock(clock);
        let key = BudgetKey::user("alice");
        b.set(
            key.clone(),
            Budget::new(Decimal::from(10), Window::Hour).hard(),
        );
        let alerts = Arc::new(AtomicUsize::new(0));
        let a2 = alerts.clone();
        b.on_alert(move |a| {
            assert_eq!(a.key, BudgetKey::user("alice"));
            a2.fetch_add(1, Ordering::SeqCst);
        });
        let keys = [key.clone()];
        b.charge(&keys, Decimal::from(7));
        assert_eq!(alerts.load(Ordering::SeqCst), 0);
        b.charge(&keys, Decimal::from(1)); // 8 = 80 %
        b.charge(&keys, Decimal::from(1));
        assert_eq!(alerts.load(Ordering::SeqCst), 1);
        assert!(b.check(&keys).is_ok()); // 9 < 10
        b.charge(&keys, Decimal::from(1));
        let e = b.check(&keys).unwrap_err();
        assert_eq!(e.spent, Decimal::from(10));
        assert!(e.to_string().contains("user:alice"), "{e}");
        // Next hour: reset, and the alert may fire again.
        hand.advance(Duration::from_secs(3600));
        assert!(b.check(&keys).is_ok());
        assert_eq!(b.spent(&key), Some(Decimal::ZERO));
        b.charge(&keys, Decimal::from(9));
        assert_eq!(alerts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn soft_only_budget_never_refuses() {
        let b = Budgets::with_clock(Clock::manual().0);
        let keys = [BudgetKey::endpoint("/chat")];
        b.set(keys[0].clone(), Budget::new(Decimal::ONE, Window::Day));
        b.charge(&keys, Decimal::from(5));
        assert!(b.check(&keys).is_ok());
        assert!(b.check(&[BudgetKey::model("unbudgeted")]).is_ok());
    }
}
