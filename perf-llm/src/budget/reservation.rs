//! The guard a call holds on its budgets from admission to its end: settled to the exact
//! cost, or released when dropped (an error, a cancelled future, a panic).

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::{BudgetKey, Entry, Shared};

/// What one admitted call holds on its hard budgets: its ceiling on each (or the mark of a
/// call of unknown cost). [`settle`](Self::settle) charges the exact cost and frees the
/// hold in one step; dropping it unsettled frees the hold and charges nothing, so a call
/// that failed or was cancelled gives its reservation back.
///
/// ```
/// use perf_llm::budget::{Budget, BudgetKey, Budgets, Window};
/// use rust_decimal::Decimal;
///
/// let budgets = Budgets::new();
/// let keys = [BudgetKey::endpoint("/chat")];
/// budgets.set(keys[0].clone(), Budget::new(Decimal::ONE, Window::Day).hard());
/// {
///     let _held = budgets.reserve(&keys, Decimal::ONE).unwrap();
///     assert_eq!(budgets.reserved(&keys[0]), Some(Decimal::ONE));
///     // the request fails here: `_held` is dropped
/// }
/// assert_eq!(budgets.reserved(&keys[0]), Some(Decimal::ZERO));
/// assert_eq!(budgets.spent(&keys[0]), Some(Decimal::ZERO));
/// ```
#[must_use = "the reservation is released when dropped; settle it with the call's cost"]
pub struct Reservation {
    shared: Option<Arc<Shared>>,
    keys: Vec<BudgetKey>,
    /// Each hard budget admitted on, with its ceiling (`None`: unknown cost).
    holds: Vec<(Arc<Entry>, Option<Decimal>)>,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("keys", &self.keys)
            .field(
                "holds",
                &self.holds.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Reservation {
    pub(super) fn new(
        shared: Arc<Shared>,
        keys: Vec<BudgetKey>,
        holds: Vec<(Arc<Entry>, Option<Decimal>)>,
    ) -> Self {
        Reservation {
            shared: Some(shared),
            keys,
            holds,
        }
    }

    /// A reservation on no budget: what a meter without budgets admits with.
    pub fn unbudgeted() -> Self {
        Reservation {
            shared: None,
            keys: Vec::new(),
            holds: Vec::new(),
        }
    }

    /// The keys the call was admitted on.
    pub fn keys(&self) -> &[BudgetKey] {
        &self.keys
    }

    /// Ends the call: charges `cost` USD to each of its keys and frees what it held, in one
    /// step per budget. A cost above the ceiling is charged in full (it was spent).
    pub fn settle(mut self, cost: Decimal) {
        let keys = std::mem::take(&mut self.keys);
        self.settle_keys(&keys, cost);
    }

    /// [`settle`](Self::settle) on `keys` rather than the keys admitted on: the meter
    /// charges the keys of the call as it ended, whose model may be known only from the
    /// response.
    pub(crate) fn settle_keys(mut self, keys: &[BudgetKey], cost: Decimal) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let mut alerts = Vec::new();
        for key in keys {
            let Some(e) = shared.entry(key) else { continue };
            let mut st = e.state.lock().unwrap_or_else(|p| p.into_inner());
            // Freed under the same lock as the charge, so no other call sees the cost twice
            // (held and spent) or not at all.
            if let Some(i) = self.holds.iter().position(|(h, _)| Arc::ptr_eq(h, &e)) {
                let (_, held) = self.holds.swap_remove(i);
                free(&mut st, held);
            }
            shared.roll(&e, &mut st);
            alerts.extend(Shared::add(key, &e, &mut st, cost));
        }
        self.release();
        for a in &alerts {
            shared.fire(a);
        }
    }

    /// Frees every hold left.
    fn release(&mut self) {
        for (e, held) in self.holds.drain(..) {
            free(&mut e.state.lock().unwrap_or_else(|p| p.into_inner()), held);
        }
    }
}

fn free(st: &mut super::State, held: Option<Decimal>) {
    match held {
        Some(c) => st.reserved -= c,
        None => st.unknown_in_flight = false,
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}
