//! What Linux's /proc says about the server process and the machine: peak and current
//! resident memory, CPU time, and the load average (stored next to every figure, because
//! other work on the same cores changes every number).

use serde::Serialize;
use std::path::PathBuf;

/// `/proc/<pid>/stat` exports CPU times in USER_HZ ticks, which Linux fixes at 100 on
/// every architecture it supports for user space (independent of the kernel's HZ).
const USER_HZ: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Memory {
    /// Peak resident set (VmHWM) since start or since the last reset.
    pub peak_rss_mib: f64,
    /// Resident set now (VmRSS).
    pub rss_mib: f64,
}

fn proc_path(pid: u32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

/// A `VmXXX:   1234 kB` line of /proc/<pid>/status, in MiB.
fn status_kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line[key.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(proc_path(pid, "status")).ok()?;
    Some(Memory {
        peak_rss_mib: status_kib(&status, "VmHWM")?,
        rss_mib: status_kib(&status, "VmRSS")?,
    })
}

/// Resets the process's peak RSS to its current RSS (`echo 5 > clear_refs`, Linux ≥ 4.0),
/// so each load level reports its own peak. Needs to own the process (or root).
pub fn reset_peak(pid: u32) -> std::io::Result<()> {
    std::fs::write(proc_path(pid, "clear_refs"), b"5")
}

/// A server's memory and CPU over one measured span: [`Meter::start`] before it,
/// [`Meter::finish`] after.
pub struct Meter {
    pid: u32,
    before: Option<Memory>,
    peak_was_reset: bool,
    cpu_before: Option<f64>,
}

/// What [`Meter`] measured.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Peak RSS (VmHWM) over the span, reset at its start when the kernel allows it.
    pub peak_rss_mib: Option<f64>,
    /// Whether the peak was reset (else it is the process's lifetime peak).
    pub peak_was_reset: bool,
    /// The process's peak RSS since it started (model load included).
    pub lifetime_peak_rss_mib: Option<f64>,
    pub rss_start_mib: Option<f64>,
    pub rss_end_mib: Option<f64>,
    pub cpu_s: Option<f64>,
}

impl Meter {
    pub fn start(pid: u32) -> Self {
        let before = memory(pid);
        Self {
            pid,
            before,
            peak_was_reset: reset_peak(pid).is_ok(),
            cpu_before: cpu_seconds(pid),
        }
    }

    pub fn finish(&self) -> Usage {
        let after = memory(self.pid);
        let peak_after = after.map(|m| m.peak_rss_mib);
        Usage {
            peak_rss_mib: peak_after,
            peak_was_reset: self.peak_was_reset,
            lifetime_peak_rss_mib: self
                .before
                .zip(after)
                .map(|(a, b)| a.peak_rss_mib.max(b.peak_rss_mib))
                .or(peak_after),
            rss_start_mib: self.before.map(|m| m.rss_mib),
            rss_end_mib: after.map(|m| m.rss_mib),
            cpu_s: self
                .cpu_before
                .zip(cpu_seconds(self.pid))
                .map(|(a, b)| b - a),
        }
    }
}

/// User + system CPU seconds the process has used.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(proc_path(pid, "stat")).ok()?;
    parse_cpu_seconds(&stat)
}

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may contain spaces: split after
    // its closing parenthesis. utime and stime are fields 14 and 15 of the whole line,
    // i.e. the 12th and 13th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// The 1-minute load average and the whole line of /proc/loadavg.
pub fn loadavg() -> Option<(f64, String)> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let one = text.split_whitespace().next()?.parse().ok()?;
    Some((one, text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_in_mib() {
        let status =
            "Name:\tfaceid\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(200.0));
        assert_eq!(status_kib(status, "VmRSS"), Some(100.0));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn cpu_time_survives_a_command_name_with_spaces_and_parens() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_is_visible() {
        let me = std::process::id();
        let m = memory(me).expect("own /proc status");
        assert!(m.peak_rss_mib >= m.rss_mib && m.rss_mib > 0.0);
        assert!(cpu_seconds(me).is_some());
        assert!(loadavg().is_some());
    }
}
