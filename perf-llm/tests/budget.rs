//! Hard budgets under concurrency: calls admitted together never spend past the limit, and
//! the budget refuses exactly the calls that would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_llm::{Budget, BudgetExceeded, BudgetKey, Budgets, Decimal, Refusal, Window};

#[test]
fn eight_threads_never_spend_past_a_hard_limit() {
    let budgets = Arc::new(Budgets::with_clock(perf_core::clock::Clock::manual().0));
    let key = BudgetKey::user("alice");
    let cost = Decimal::new(1, 3); // $0.001 a call, known before it is sent
    let limit = Decimal::new(5, 0); // room for 5 000 of the 8 000 calls
    budgets.set(key.clone(), Budget::new(limit, Window::Day).hard());
    let admitted = Arc::new(Mutex::new(0u64));
    let refusals: Arc<Mutex<Vec<BudgetExceeded>>> = Arc::default();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (b, key) = (budgets.clone(), key.clone());
            let (admitted, refusals) = (admitted.clone(), refusals.clone());
            std::thread::spawn(move || {
                let keys = [key];
                for _ in 0..1_000 {
                    match b.reserve(&keys, cost) {
                        Ok(held) => {
                            *admitted.lock().unwrap() += 1;
                            std::thread::sleep(Duration::from_millis(1)); // the request
                            held.settle(cost);
                        }
                        Err(e) => refusals.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let spent = budgets.spent(&key).unwrap();
    assert_eq!(spent, limit, "spent ${spent} of a ${limit} hard limit");
    assert_eq!(*admitted.lock().unwrap(), 5_000);
    assert_eq!(budgets.reserved(&key), Some(Decimal::ZERO));
    let refusals = refusals.lock().unwrap();
    assert_eq!(refusals.len(), 3_000);
    // Each refusal came when this call, on top of what was spent and held, would pass it.
    for r in refusals.iter() {
        assert_eq!(r.reason, Refusal::WouldExceed { ceiling: cost });
        assert!(r.spent + r.reserved + cost > limit, "{r}");
        assert!(r.spent + r.reserved <= limit, "{r}");
    }
}

#[test]
fn calls_of_unknown_cost_overspend_by_at_most_one_call() {
    let budgets = Arc::new(Budgets::new());
    let key = BudgetKey::endpoint("/chat");
    let cost = Decimal::new(3, 3);
    let limit = Decimal::new(1, 1); // 33⅓ calls
    budgets.set(key.clone(), Budget::new(limit, Window::Day).hard());
    // Each thread keeps trying until the budget says it is spent. A refusal because another
    // call of unknown cost is in flight means "try again", so how the threads are scheduled
    // does not change how many calls get in.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (b, key) = (budgets.clone(), key.clone());
            std::thread::spawn(move || {
                let keys = [key];
                let mut admitted = 0u64;
                loop {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "never refused as spent"
                    );
                    match b.reserve_unknown(&keys) {
                        Ok(held) => {
                            admitted += 1;
                            std::thread::sleep(Duration::from_micros(200));
                            held.settle(cost);
                        }
                        Err(e) if e.reason == Refusal::UnknownCostInFlight => {
                            std::thread::yield_now()
                        }
                        Err(e) => return (admitted, e.reason),
                    }
                }
            })
        })
        .collect();
    let ends: Vec<(u64, Refusal)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Admitted one at a time while the limit was not reached: 34 calls, the last one over.
    assert_eq!(ends.iter().map(|(n, _)| n).sum::<u64>(), 34);
    assert_eq!(budgets.spent(&key), Some(cost * Decimal::from(34)));
    assert!(ends.iter().all(|(_, r)| *r == Refusal::Spent), "{ends:?}");
}
