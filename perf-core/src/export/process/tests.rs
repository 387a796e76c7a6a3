use super::*;

fn rendered(s: &Sample, labels: &[(&str, &str)]) -> String {
    let labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut out = String::new();
    write_sample(s, &ProcessCollector::new(&labels).labels, &mut out);
    out
}

#[test]
fn writes_each_metric_with_the_client_libraries_help_and_type() {
    let s = Sample {
        cpu_seconds: Some(3.8),
        open_fds: Some(12.0),
        max_fds: Some(1024.0),
        virtual_bytes: Some(123_456_789.0),
        resident_bytes: Some(8_388_608.0),
        start_time_seconds: Some(1_764_640_123.45),
        threads: Some(7.0),
    };
    assert_eq!(
        rendered(&s, &[("service", "a\"b")]),
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
         # TYPE process_cpu_seconds_total counter\n\
         process_cpu_seconds_total{service=\"a\\\"b\"} 3.8\n\
         # HELP process_open_fds Number of open file descriptors.\n\
         # TYPE process_open_fds gauge\n\
         process_open_fds{service=\"a\\\"b\"} 12\n\
         # HELP process_max_fds Maximum number of open file descriptors.\n\
         # TYPE process_max_fds gauge\n\
         process_max_fds{service=\"a\\\"b\"} 1024\n\
         # HELP process_virtual_memory_bytes Virtual memory size in bytes.\n\
         # TYPE process_virtual_memory_bytes gauge\n\
         process_virtual_memory_bytes{service=\"a\\\"b\"} 123456789\n\
         # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
         # TYPE process_resident_memory_bytes gauge\n\
         process_resident_memory_bytes{service=\"a\\\"b\"} 8388608\n\
         # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
         # TYPE process_start_time_seconds gauge\n\
         process_start_time_seconds{service=\"a\\\"b\"} 1764640123.45\n\
         # HELP process_threads Number of OS threads in the process.\n\
         # TYPE process_threads gauge\n\
         process_threads{service=\"a\\\"b\"} 7\n"
    );
}

#[test]
fn leaves_out_what_proc_did_not_give() {
    let s = Sample {
        threads: Some(3.0),
        ..Sample::default()
    };
    assert_eq!(
        rendered(&s, &[]),
        "# HELP process_threads Number of OS threads in the process.\n\
         # TYPE process_threads gauge\n\
         process_threads 3\n"
    );
    assert_eq!(rendered(&Sample::default(), &[("a", "1")]), "");
}

#[cfg(target_os = "linux")]
mod linux {
    use proptest::prelude::*;

    use super::super::linux::*;

    /// A `/proc/<pid>/stat` line of a process named `name`.
    fn stat_line(name: &[u8]) -> Vec<u8> {
        let mut line = b"4242 (".to_vec();
        line.extend_from_slice(name);
        line.extend_from_slice(
            b") S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 130 0 0 20 0 7 0 98765 \
              123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 3 0 0 0 0 0\n",
        );
        line
    }

    const FIELDS: Stat = Stat {
        utime_ticks: 250,
        stime_ticks: 130,
        threads: 7,
        start_ticks: 98765,
        vsize_bytes: 123_456_789,
        rss_pages: 2048,
    };

    #[test]
    fn stat_is_read_whatever_the_process_is_named() {
        for name in [
            &b"perf"[..],
            b"my (odd) proc",
            b") ) 1 2 3 (",
            b"",
            b"tab\tand\nnewline",
            b"\xff\xfe not utf-8",
        ] {
            assert_eq!(
                parse_stat(&stat_line(name)),
                Some(FIELDS),
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn a_short_or_garbled_stat_is_none() {
        let full = stat_line(b"x");
        assert_eq!(parse_stat(&full[..40]), None);
        assert_eq!(parse_stat(b"4242 x S 1 2 3"), None);
        assert_eq!(parse_stat(b""), None);
        let negative_rss = String::from_utf8(full).unwrap().replace(" 2048 ", " -1 ");
        assert_eq!(parse_stat(negative_rss.as_bytes()), None);
    }

    #[test]
    fn boot_time_limits_and_auxv_are_read() {
        let stat = b"cpu  1 2 3\nintr 5 6\nctxt 99\nbtime 1764640000\nprocesses 12\n";
        assert_eq!(parse_boot_time(stat), Some(1_764_640_000));
        assert_eq!(parse_boot_time(b"cpu 1\nbtime x\n"), None);

        let limits = b"Limit                     Soft Limit           Hard Limit           Units     \n\
                       Max processes             63422                63422                processes \n\
                       Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(
            parse_max_open_files(
                b"Max open files            unlimited            unlimited            files\n"
            ),
            None
        );

        let mut auxv = Vec::new();
        for (k, v) in [
            (33usize, 7usize),
            (AT_PAGESZ, 4096),
            (AT_CLKTCK, 100),
            (0, 0),
        ] {
            auxv.extend_from_slice(&k.to_ne_bytes());
            auxv.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_auxv(&auxv, AT_PAGESZ), Some(4096));
        assert_eq!(parse_auxv(&auxv, AT_CLKTCK), Some(100));
        assert_eq!(parse_auxv(&auxv, 99), None);
        assert_eq!(parse_auxv(&auxv[..20], AT_CLKTCK), None);
    }

    proptest! {
        #[test]
        fn the_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_stat(&bytes);
            let _ = parse_boot_time(&bytes);
            let _ = parse_max_open_files(&bytes);
            let _ = parse_auxv(&bytes, AT_CLKTCK);
        }

        #[test]
        fn stat_is_read_for_any_name(name in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(parse_stat(&stat_line(&name)), Some(FIELDS));
        }

        #[test]
        fn text_near_the_format_never_panics(
            text in "[0-9a-z() \\-\n]{0,200}",
            cut in 0usize..300,
        ) {
            let line = stat_line(text.as_bytes());
            let _ = parse_stat(&line[..cut.min(line.len())]);
            let _ = parse_stat(text.as_bytes());
            let _ = parse_boot_time(format!("btime {text}").as_bytes());
            let _ = parse_max_open_files(format!("Max open files {text}").as_bytes());
        }
    }
}
