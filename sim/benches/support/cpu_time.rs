//! The simulation thread's own CPU time, next to wall-clock time: on a loaded machine the wall clock
//! also counts the time other processes held the CPU, so both are printed.

/// Seconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`); `None` elsewhere.
pub fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let on_cpu_ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(on_cpu_ns as f64 / 1e9)
}

/// Measures `f`: (its result, wall seconds, CPU seconds of this thread if known).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let cpu_before = thread_cpu_s();
    let wall = std::time::Instant::now();
    let result = f();
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = cpu_before.and_then(|before| Some(thread_cpu_s()? - before));
    (result, wall_s, cpu_s)
}

/// `wall 1.234 s (CPU 1.100 s, load 0.52)`: the load average read from `/proc/loadavg`.
pub fn describe(wall_s: f64, cpu_s: Option<f64>) -> String {
    let cpu = cpu_s.map_or(String::new(), |cpu| format!("CPU {cpu:.3} s, "));
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string());
    format!("wall {wall_s:.3} s ({cpu}1-min load {load})")
}
