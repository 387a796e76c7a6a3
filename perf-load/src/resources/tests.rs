use super::*;
use proptest::prelude::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn cpu_percent_is_between_samples() {
    let mut r = ResourceReport::default();
    r.push_process(0.0, 10.0, 1000);
    r.push_process(1.0, 10.5, 3000);
    r.push_process(2.0, 12.5, 2000);
    let cpu: Vec<_> = r.process.iter().map(|s| s.cpu_pct).collect();
    assert_eq!(cpu, [None, Some(50.0), Some(200.0)]);
    assert_eq!(
        (r.peak_rss_bytes(), r.peak_cpu_pct()),
        (Some(3000), Some(200.0))
    );
}

const REAL: &str = "0, NVIDIA A100-SXM4-80GB, 71234, 81920, 97
1, NVIDIA A100-SXM4-80GB, 3, 81920, 0
2, Tesla T4, [N/A], 15360, [Not Supported]
";

#[test]
fn nvidia_smi_lines_parse_and_garbage_is_skipped() {
    let garbage =
        "\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n\
        x, name, 1, 2, 3\n3, GPU, 1, 2, 101\n4, GPU, 1, 2\n5, Weird, Name, 10, 20, 30\n";
    let (gpus, skipped) = parse_nvidia_smi(&format!("{REAL}{garbage}"));
    assert_eq!(skipped, 4);
    assert_eq!(gpus.len(), 4);
    assert_eq!(
        gpus[0],
        GpuSample {
            index: 0,
            name: "NVIDIA A100-SXM4-80GB".into(),
            memory_used_mib: Some(71234),
            memory_total_mib: Some(81920),
            utilization_pct: Some(97),
        }
    );
    assert_eq!(
        (gpus[2].memory_used_mib, gpus[2].utilization_pct),
        (None, None)
    );
    assert_eq!(gpus[3].name, "Weird, Name");
}

fn fake_smi(dir: &Path, body: &str) {
    let p = dir.join("nvidia-smi");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn once(pid: Option<u32>, path_var: Option<OsString>, proc_root: PathBuf) -> ResourceReport {
    // One sample: the first is taken at once, the next would be an hour later.
    let config = ResourceConfig {
        pid,
        interval: Duration::from_secs(3600),
        path_var,
        proc_root,
    };
    ResourceSampler::start(config).stop()
}

#[test]
fn a_fake_nvidia_smi_on_path_is_run_with_the_query() {
    let dir = tempfile::tempdir().unwrap();
    // Prints the GPUs only when called with the exact query, as the real one would answer it.
    let args = NVIDIA_SMI_ARGS.join(" ");
    fake_smi(
        dir.path(),
        &format!(
            "[ \"$*\" = \"{args}\" ] || exit 3\nprintf '{}'\necho garbage",
            REAL.replace('\n', "\\n")
        ),
    );
    let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
    let r = once(None, Some(path), PathBuf::from("/proc"));
    assert_eq!(r.gpu.len(), 1);
    assert_eq!(r.gpu[0].gpus.len(), 3);
    assert_eq!(r.gpu_lines_skipped, 1);
    assert_eq!(r.gpu_note, None);
    assert_eq!(
        r.to_string(),
        "GPU 0 NVIDIA A100-SXM4-80GB: peak memory 71234 of 81920 MiB, peak utilization 97%\n\
         GPU 1 NVIDIA A100-SXM4-80GB: peak memory 3 of 81920 MiB, peak utilization 0%\n\
         GPU 2 Tesla T4: peak memory n/a of 15360 MiB, peak utilization n/a%\n"
    );
}

#[test]
fn no_gpu_is_one_line_and_a_failing_smi_is_noted() {
    let empty = tempfile::tempdir().unwrap();
    let r = once(
        None,
        Some(empty.path().as_os_str().to_owned()),
        PathBuf::from("/proc"),
    );
    assert_eq!(r.to_string(), "no GPU found (nvidia-smi is not on PATH)\n");
    fake_smi(empty.path(), "exit 9");
    let r = once(
        None,
        Some(empty.path().as_os_str().to_owned()),
        PathBuf::from("/proc"),
    );
    assert_eq!(r.gpu, vec![]);
    assert!(
        r.to_string().starts_with("no GPU found (nvidia-smi failed"),
        "{r}"
    );
}

#[test]
fn a_process_is_read_from_proc() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("77");
    std::fs::create_dir(&dir).unwrap();
    let (ticks, page) = system_units();
    std::fs::write(
        dir.join("stat"),
        format!(
            "77 (a) b) R 1 1 1 0 -1 0 0 0 0 0 {} {} 0 0 20 0 1 0 0 0 0",
            3 * ticks,
            ticks
        ),
    )
    .unwrap();
    std::fs::write(dir.join("statm"), "100 25 0 0 0 0 0").unwrap();
    let r = once(Some(77), None, root.path().to_owned());
    assert_eq!(r.process.len(), 1);
    assert_eq!(r.process[0].rss_bytes, 25 * page);
    assert_eq!(r.process_error, None);
    let gone = once(Some(78), None, root.path().to_owned());
    assert!(
        gone.to_string()
            .starts_with("process 78: not sampled: cannot read"),
        "{gone}"
    );
    // This process, for real.
    let me = once(Some(std::process::id()), None, PathBuf::from("/proc"));
    assert!(me.peak_rss_bytes().is_some_and(|b| b > 1 << 20), "{me}");
}

proptest! {
    #[test]
    fn parsers_never_panic(text in "\\PC{0,200}", ticks in 0u64..1000, page in 0u64..100_000) {
        let _ = parse_stat(&text, ticks);
        let _ = parse_statm(&text, page);
        let _ = parse_nvidia_smi(&text);
    }

    #[test]
    fn stat_lines_read_back(name in "[ -~]{0,20}", utime in 0u64..1 << 40, stime in 0u64..1 << 40) {
        let line = format!("1 ({name}) S 1 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 0 0 0");
        prop_assert_eq!(parse_stat(&line, 100), Some((utime + stime) as f64 / 100.0));
    }
}
