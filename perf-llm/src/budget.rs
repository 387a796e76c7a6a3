//! In-process spending budgets per user, endpoint or model over an hour or a day: a soft
//! alert (callback + `tracing` WARN, once per window) and an optional hard limit that
//! refuses a call before it is sent.
//!
//! A hard budget admits a call atomically with [`Budgets::reserve`]: the call holds a
//! [`Reservation`] of the most it may cost (its ceiling) from before it is sent until it is
//! [settled](Reservation::settle) to its exact cost, or released when the guard is dropped
//! (an error, a cancelled future, a panic). What a hard budget promises:
//!
//! * Calls with a ceiling (given to [`Budgets::reserve`], or the budget's
//!   [`per_call`](Budget::per_call) reservation): admitted only while
//!   spent + reserved + ceiling ≤ limit, so as long as each costs at most its ceiling, the
//!   spend never passes the limit, however many run at once.
//! * Calls of unknown cost ([`Budgets::reserve_unknown`], and `#[llm_call]` unless the
//!   budget has a `per_call` reservation): admitted only while spent + reserved < limit and
//!   no other call of unknown cost is in flight on that budget, so the spend passes the
//!   limit by at most one call's cost — what a caller making one call at a time gets.
//!
//! [`BudgetExceeded::reason`] says which rule refused. Charges from many threads lose
//! nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use perf_core::clock::Clock;
use rust_decimal::Decimal;

use crate::error::{BudgetExceeded, Refusal};

mod reservation;

pub use reservation::Reservation;

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
/// and days; with a manual clock, to multiples of the length from its zero. What calls in
/// flight have reserved carries over into the next window, where they are charged.
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
///     .hard()                                             // refuse calls beyond
///     .per_call(Decimal::new(5, 2));                      // a call of unknown cost holds $0.05
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
    /// What a call that gives no ceiling reserves on this hard budget, USD. `None` (the
    /// default): such calls are admitted one at a time (see the [module](self) docs).
    pub per_call: Option<Decimal>,
}

impl Budget {
    /// A soft-only budget of `limit` USD per `window`, alerting at 80 %.
    pub fn new(limit: Decimal, window: Window) -> Self {
        Budget {
            limit,
            window,
            soft_fraction: Decimal::new(8, 1),
            hard_limit: false,
            per_call: None,
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

    /// Reserves `usd` (at least zero) for each call that gives no ceiling, instead of
    /// admitting such calls one at a time: they then run concurrently, and the limit holds
    /// as long as none costs more than `usd`. Use the most one call can cost (max tokens ×
    /// output price + the largest prompt).
    pub fn per_call(mut self, usd: Decimal) -> Self {
        self.per_call = Some(usd.max(Decimal::ZERO));
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
    /// The ceilings of the calls in flight (across windows: they are charged when settled).
    reserved: Decimal,
    /// Whether a call of unknown cost is in flight.
    unknown_in_flight: bool,
}

struct Entry {
    budget: Budget,
    state: Mutex<State>,
}

impl Entry {
    /// Admits a call of `ceiling` (or of unknown cost) on this hard budget, or says why
    /// not; `st` is this entry's state, rolled to the current window.
    fn admit(&self, st: &State, ceiling: Option<Decimal>) -> Result<Option<Decimal>, Refusal> {
        let held = st.spent + st.reserved;
        match ceiling.or(self.budget.per_call) {
            Some(c) if held + c > self.budget.limit => Err(Refusal::WouldExceed { ceiling: c }),
            Some(c) => Ok(Some(c)),
            None if held >= self.budget.limit => Err(Refusal::Spent),
            None if st.unknown_in_flight => Err(Refusal::UnknownCostInFlight),
            None => Ok(None),
        }
    }
}

type AlertFn = Arc<dyn Fn(&BudgetAlert) + Send + Sync>;

/// What a set of budgets and the reservations made on it share.
struct Shared {
    clock: Option<Clock>,
    entries: RwLock<HashMap<BudgetKey, Arc<Entry>>>,
    on_alert: RwLock<Vec<AlertFn>>,
}

impl Shared {
    fn now_nanos(&self) -> u64 {
        match &self.clock {
            Some(c) => c.now_nanos(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        }
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

    /// Adds `usd` to `key`'s locked state; the soft alert to fire if it crossed its fraction.
    fn add(key: &BudgetKey, e: &Entry, st: &mut State, usd: Decimal) -> Option<BudgetAlert> {
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
    }

    /// Logs `a` and calls the callbacks; with no lock held, as a callback may charge again.
    fn fire(&self, a: &BudgetAlert) {
        tracing::warn!(target: "perf_llm", budget = %a.key, window = a.window.as_str(),
            spent_usd = %a.spent, limit_usd = %a.limit, "LLM budget soft limit reached");
        let callbacks = self
            .on_alert
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for f in callbacks {
            f(a);
        }
    }
}

/// A set of budgets. Attach it to an [`LlmMeter`](crate::LlmMeter) with
/// [`set_budgets`](crate::LlmMeter::set_budgets) so recorded calls are charged, and
/// `#[llm_call]` reserves before each call.
///
/// ```
/// use perf_llm::budget::{Budget, BudgetKey, Budgets, Window};
/// use rust_decimal::Decimal;
///
/// let budgets = Budgets::new();
/// budgets.set(BudgetKey::user("alice"), Budget::new(Decimal::ONE, Window::Hour).hard());
/// let keys = [BudgetKey::user("alice")];
/// // Before sending: hold the most the call may cost ($0.60) …
/// let reservation = budgets.reserve(&keys, Decimal::new(6, 1)).unwrap();
/// // … so a second call of up to $0.60 is refused while the first is in flight.
/// assert!(budgets.reserve(&keys, Decimal::new(6, 1)).is_err());
/// reservation.settle(Decimal::new(25, 2)); // it cost $0.25
/// assert_eq!(budgets.spent(&keys[0]), Some(Decimal::new(25, 2)));
/// assert!(budgets.reserve(&keys, Decimal::new(6, 1)).is_ok()); // dropped: released
/// ```
#[derive(Clone)]
pub struct Budgets {
    shared: Arc<Shared>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field(
                "budgets",
                &self.shared.entries.read().map(|e| e.len()).unwrap_or(0),
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
        Self::on(None)
    }

    /// Budgets on `clock` (a manual clock in tests).
    pub fn with_clock(clock: Clock) -> Self {
        Self::on(Some(clock))
    }

    fn on(clock: Option<Clock>) -> Self {
        Budgets {
            shared: Arc::new(Shared {
                clock,
                entries: RwLock::new(HashMap::new()),
                on_alert: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Sets (or replaces, resetting its spending) the budget of `key`. Calls in flight on
    /// the budget replaced settle on the new one.
    pub fn set(&self, key: BudgetKey, budget: Budget) {
        let idx = self.shared.now_nanos() / budget.window.nanos();
        let entry = Arc::new(Entry {
            budget,
            state: Mutex::new(State {
                window_index: idx,
                spent: Decimal::ZERO,
                alerted: false,
                reserved: Decimal::ZERO,
                unknown_in_flight: false,
            }),
        });
        self.shared
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, entry);
    }

    /// Calls `f` on every soft alert (besides the `tracing` WARN).
    pub fn on_alert(&self, f: impl Fn(&BudgetAlert) + Send + Sync + 'static) {
        self.shared
            .on_alert
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(f));
    }

    /// Admits a call that costs at most `ceiling` USD (negative counts as zero) on the
    /// hard budgets of `keys`, all or none: each must have spent + reserved + `ceiling` ≤
    /// its limit. The returned guard holds `ceiling` on each until it is
    /// [settled](Reservation::settle) to the exact cost or dropped (released). Keys without
    /// a budget, and soft budgets, admit everything and are charged when settled.
    pub fn reserve(
        &self,
        keys: &[BudgetKey],
        ceiling: Decimal,
    ) -> Result<Reservation, BudgetExceeded> {
        self.admit(keys, Some(ceiling.max(Decimal::ZERO)))
    }

    /// Admits a call whose cost is not known before it is made: on each hard budget of
    /// `keys` that has a [`per_call`](Budget::per_call) reservation, as
    /// [`reserve`](Self::reserve) with it; on the others, only while spent + reserved <
    /// limit and no other call of unknown cost is in flight there, which bounds the
    /// overspend to one call's cost.
    pub fn reserve_unknown(&self, keys: &[BudgetKey]) -> Result<Reservation, BudgetExceeded> {
        self.admit(keys, None)
    }

    fn admit(
        &self,
        keys: &[BudgetKey],
        ceiling: Option<Decimal>,
    ) -> Result<Reservation, BudgetExceeded> {
        let mut hard: Vec<(&BudgetKey, Arc<Entry>)> = keys
            .iter()
            .filter_map(|k| Some((k, self.shared.entry(k)?)))
            .filter(|(_, e)| e.budget.hard_limit)
            .collect();
        // One lock order for every caller, and each budget once: no deadlock.
        hard.sort_by(|a, b| a.0.cmp(b.0));
        hard.dedup_by(|a, b| a.0 == b.0);
        let mut states: Vec<_> = hard
            .iter()
            .map(|(_, e)| e.state.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let mut amounts = Vec::with_capacity(hard.len());
        for ((key, e), st) in hard.iter().zip(states.iter_mut()) {
            self.shared.roll(e, st);
            match e.admit(st, ceiling) {
                Ok(a) => amounts.push(a),
                Err(reason) => {
                    return Err(BudgetExceeded {
                        key: key.to_string(),
                        window: e.budget.window.as_str(),
                        limit: e.budget.limit.normalize(),
                        spent: st.spent.normalize(),
                        reserved: st.reserved.normalize(),
                        reason,
                    })
                }
            }
        }
        for (st, a) in states.iter_mut().zip(&amounts) {
            match a {
                Some(c) => st.reserved += c,
                None => st.unknown_in_flight = true,
            }
        }
        drop(states);
        let holds = hard.into_iter().map(|(_, e)| e).zip(amounts).collect();
        Ok(Reservation::new(self.shared.clone(), keys.to_vec(), holds))
    }

    /// Whether a call of unknown cost would be admitted now, by the rule of
    /// [`reserve_unknown`](Self::reserve_unknown). It reserves nothing, so calls checked
    /// at the same time all pass: admit calls with `reserve` or `reserve_unknown`.
    pub fn check(&self, keys: &[BudgetKey]) -> Result<(), BudgetExceeded> {
        self.reserve_unknown(keys).map(drop)
    }

    /// Adds `usd` to the budgets of `keys` (a call made without a reservation); fires the
    /// soft alert of each that crosses its fraction (once per window).
    pub fn charge(&self, keys: &[BudgetKey], usd: Decimal) {
        Reservation::new(self.shared.clone(), Vec::new(), Vec::new()).settle_keys(keys, usd);
    }

    /// Spent in the current window by `key`, USD; `None` if it has no budget.
    pub fn spent(&self, key: &BudgetKey) -> Option<Decimal> {
        let e = self.shared.entry(key)?;
        let mut st = e.state.lock().unwrap_or_else(|p| p.into_inner());
        self.shared.roll(&e, &mut st);
        Some(st.spent)
    }

    /// Held by the calls in flight on `key` (their ceilings), USD; `None` if it has no
    /// budget.
    pub fn reserved(&self, key: &BudgetKey) -> Option<Decimal> {
        let e = self.shared.entry(key)?;
        let st = e.state.lock().unwrap_or_else(|p| p.into_inner());
        Some(st.reserved)
    }
}

#[cfg(test)]
mod tests;
