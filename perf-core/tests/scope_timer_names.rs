//! Names built at run time go through the cardinality guard: past the limit (1000 distinct
//! names by default) they are timed under `__overflow__`, so the series stay bounded.
//! (Its own test binary: it counts the series of the global registry.)

use perf_core::cardinality::{DEFAULT_MAX_LABEL_VALUES, OVERFLOW};
use perf_core::Registry;

#[test]
fn runtime_names_past_the_limit_share_the_overflow_series() {
    let before = Registry::global().series().len();
    for i in 0..10_000 {
        drop(perf_core::time(&format!("job_{i}")));
    }
    // One series per result (ok, panic) per admitted name, and the two of `__overflow__`.
    assert_eq!(
        Registry::global().series().len() - before,
        2 * DEFAULT_MAX_LABEL_VALUES + 2
    );
    assert_eq!(perf_core::summary(OVERFLOW).unwrap().count, 9_000);

    // Admitted names keep their own series; an overflowed one stays overflowed.
    drop(perf_core::time("job_0"));
    drop(perf_core::time("job_999"));
    drop(perf_core::time("job_1000"));
    assert_eq!(perf_core::summary("job_0").unwrap().count, 2);
    assert_eq!(perf_core::summary("job_999").unwrap().count, 2);
    assert!(perf_core::summary("job_1000").is_none());
    assert_eq!(perf_core::summary(OVERFLOW).unwrap().count, 9_001);

    // The same holds on another thread, which has its own cache of names.
    std::thread::spawn(|| {
        drop(perf_core::time("job_5"));
        drop(perf_core::time("job_5000"));
    })
    .join()
    .unwrap();
    assert_eq!(perf_core::summary("job_5").unwrap().count, 2);
    assert_eq!(perf_core::summary(OVERFLOW).unwrap().count, 9_002);
    assert_eq!(
        Registry::global().series().len() - before,
        2 * DEFAULT_MAX_LABEL_VALUES + 2
    );
}
