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

#[test]
fn a_reservation_is_all_or_none_and_freed_when_dropped() {
    let b = Budgets::with_clock(Clock::manual().0);
    let (user, model) = (BudgetKey::user("ann"), BudgetKey::model("gpt-4o"));
    b.set(
        user.clone(),
        Budget::new(Decimal::from(10), Window::Day).hard(),
    );
    b.set(
        model.clone(),
        Budget::new(Decimal::from(3), Window::Day).hard(),
    );
    let keys = [user.clone(), model.clone(), user.clone()];
    let held = b.reserve(&keys, Decimal::from(2)).unwrap();
    assert_eq!(b.reserved(&user), Some(Decimal::from(2)));
    // The model budget refuses, so the user budget holds nothing more either.
    let e = b.reserve(&keys, Decimal::from(2)).unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.reserved),
        ("model:gpt-4o", Decimal::from(2))
    );
    assert_eq!(b.reserved(&user), Some(Decimal::from(2)));
    drop(held); // the call failed or was cancelled
    assert_eq!(b.reserved(&user), Some(Decimal::ZERO));
    assert_eq!(b.spent(&user), Some(Decimal::ZERO));
    // A cost above the ceiling is charged in full.
    b.reserve(&keys[..2], Decimal::ONE)
        .unwrap()
        .settle(Decimal::from(4));
    assert_eq!(b.spent(&model), Some(Decimal::from(4)));
    assert_eq!(b.reserved(&model), Some(Decimal::ZERO));
    let e = b.reserve_unknown(&keys).unwrap_err();
    assert_eq!(e.reason, Refusal::Spent);
    assert!(e.to_string().contains("exhausted"), "{e}");
}

#[test]
fn calls_of_unknown_cost_are_admitted_one_at_a_time_unless_per_call_is_set() {
    let (clock, hand) = Clock::manual();
    let b = Budgets::with_clock(clock);
    let keys = [BudgetKey::endpoint("/a")];
    b.set(
        keys[0].clone(),
        Budget::new(Decimal::ONE, Window::Hour).hard(),
    );
    let first = b.reserve_unknown(&keys).unwrap();
    let e = b.reserve_unknown(&keys).unwrap_err();
    assert_eq!(e.reason, Refusal::UnknownCostInFlight);
    assert!(e.to_string().contains("one call's cost"), "{e}");
    assert!(b.check(&keys).is_err());
    // A call with a ceiling that fits still runs beside it.
    b.reserve(&keys, Decimal::ONE)
        .unwrap()
        .settle(Decimal::ZERO);
    // Held across the window's end, and charged in the new window.
    hand.advance(Duration::from_secs(3600));
    first.settle(Decimal::new(5, 1));
    assert_eq!(b.spent(&keys[0]), Some(Decimal::new(5, 1)));
    assert!(b.check(&keys).is_ok());
    assert!(b.check(&keys).is_ok(), "check reserves nothing");

    b.set(
        keys[0].clone(),
        Budget::new(Decimal::ONE, Window::Hour)
            .hard()
            .per_call(Decimal::new(4, 1)),
    );
    let two = [
        b.reserve_unknown(&keys).unwrap(),
        b.reserve_unknown(&keys).unwrap(),
    ];
    let e = b.reserve_unknown(&keys).unwrap_err();
    assert_eq!(
        e.reason,
        Refusal::WouldExceed {
            ceiling: Decimal::new(4, 1)
        }
    );
    drop(two);
    assert_eq!(b.reserved(&keys[0]), Some(Decimal::ZERO));
}
