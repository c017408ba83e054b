//! Compiles an OCI `linux.seccomp` section to a classic BPF program with
//! Debian's libseccomp, the library runc, crun and podman compile the same
//! profiles with: the same syscall tables (x86_64 with its i386 and x32
//! sub-architectures), argument comparisons and action precedence. Runs in
//! the parent, once per distinct section (cache.rs); the container child
//! only loads the result.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::Deserialize;
use std::io::{Read, Seek};
use std::str::FromStr;

/// The OCI form (what profile.rs resolves to and the spec carries).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciSeccomp {
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default)]
    pub flags: Option<Vec<String>>,
    #[serde(default)]
    pub syscalls: Option<Vec<OciSyscall>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciSyscall {
    pub names: Vec<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<OciArg>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciArg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: Option<u64>,
    pub op: String,
}

/// Compiles `section` (the JSON of `linux.seccomp`) to BPF: the raw
/// `struct sock_filter` array, 8 bytes per instruction. libseccomp's
/// program, re-emitted as ranges of syscall numbers (bpf_ranges.rs: the
/// same action for every call, about a third of the instructions for the
/// kernel to convert and JIT-compile at every load).
pub fn compile(section: &[u8]) -> Result<Vec<u8>, String> {
    let program = libseccomp_program(section)?;
    let filter = super::bpf_ranges::from_bytes(&program);
    Ok(match super::bpf_ranges::shorten(&filter) {
        Some(short) => super::bpf_ranges::to_bytes(&short),
        None => program,
    })
}

/// libseccomp's program for `section`, as it exports it.
pub fn libseccomp_program(section: &[u8]) -> Result<Vec<u8>, String> {
    let s: OciSeccomp =
        serde_json::from_slice(section).map_err(|e| format!("the spec's seccomp section: {e}"))?;
    let default = action(&s.default_action, s.default_errno_ret)?;
    let lib = |what: &str, e: libseccomp::error::SeccompError| format!("libseccomp: {what}: {e}");
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| lib("creating a filter", e))?;
    // The filter is only exported; the child sets no_new_privs itself (or not).
    ctx.set_ctl_nnp(false).map_err(|e| lib("no_new_privs", e))?;
    // A binary tree of syscall numbers rather than libseccomp's default
    // list: what a start pays is the kernel's load, which runs the filter
    // once per syscall number and architecture to fill its allow cache;
    // over a tree that took 0.28 ms instead of 0.9-1.0 ms for a 385-call
    // allow list (the default profile's size), most of the gap between a
    // start with the filter and one without (bench/seccomp.sh).
    ctx.set_ctl_optimize(2)
        .map_err(|e| lib("binary tree optimization", e))?;
    for a in s.architectures.iter().flatten() {
        let arch =
            ScmpArch::from_str(a).map_err(|_| format!("unknown seccomp architecture {a:?}"))?;
        ctx.add_arch(arch).map_err(|e| lib(a, e))?;
    }
    for f in s.flags.iter().flatten() {
        // Loading flags (SPEC_ALLOW, LOG) change how the kernel runs the
        // filter, not the program; hoist loads with none.
        if !matches!(
            f.as_str(),
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" | "SECCOMP_FILTER_FLAG_LOG"
        ) {
            return Err(format!("seccomp flag {f:?} is not supported"));
        }
    }
    for (i, rule) in s.syscalls.iter().flatten().enumerate() {
        let act = action(&rule.action, rule.errno_ret)?;
        if act == default {
            // libseccomp refuses rules that repeat the default; they change nothing.
            continue;
        }
        let conds = rule
            .args
            .iter()
            .flatten()
            .map(compare)
            .collect::<Result<Vec<_>, _>>()?;
        for name in &rule.names {
            // A name this libseccomp or architecture does not know (a newer
            // call, another machine's) cannot be made, so there is nothing to filter.
            let Ok(sys) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let added = if conds.is_empty() {
                ctx.add_rule(act, sys).map(|_| ())
            } else if conds.len() > 1 && conds.iter().all(|c| c.0 == conds[0].0) {
                // Several conditions on one argument cannot be ANDed by
                // libseccomp; runc adds them as alternatives, and so do we.
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, sys, &[c.1]).map(|_| ()))
            } else {
                let all: Vec<ScmpArgCompare> = conds.iter().map(|c| c.1).collect();
                ctx.add_rule_conditional(act, sys, &all).map(|_| ())
            };
            added.map_err(|e| lib(&format!("seccomp rule {i} ({name})"), e))?;
        }
    }
    export(&ctx).map_err(|e| format!("exporting the seccomp filter: {e}"))
}

fn export(ctx: &ScmpFilterContext) -> std::io::Result<Vec<u8>> {
    // libseccomp 2.5 exports to a descriptor only: a memfd keeps it off disk.
    // SAFETY: memfd_create with a NUL-terminated name; the fd is owned below.
    let fd = unsafe { libc::memfd_create(c"hoist-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    ctx.export_bpf(&f)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    f.rewind()?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

fn action(name: &str, errno: Option<u32>) -> Result<ScmpAction, String> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno.unwrap_or(libc::EPERM as u32) as i32),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_TRACE" => ScmpAction::Trace(errno.unwrap_or(libc::EPERM as u32) as u16),
        "SCMP_ACT_NOTIFY" => {
            return Err(
                "seccomp action SCMP_ACT_NOTIFY (user notification) is not supported".into(),
            )
        }
        other => return Err(format!("unknown seccomp action {other:?}")),
    })
}

fn compare(a: &OciArg) -> Result<(u32, ScmpArgCompare), String> {
    if a.index > 5 {
        return Err(format!(
            "seccomp argument index {} (system calls have 6 arguments, 0-5)",
            a.index
        ));
    }
    let two = a.value_two.unwrap_or(0);
    let (op, datum) = match a.op.as_str() {
        "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, a.value),
        "SCMP_CMP_LT" => (ScmpCompareOp::Less, a.value),
        "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, a.value),
        "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, a.value),
        "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, a.value),
        "SCMP_CMP_GT" => (ScmpCompareOp::Greater, a.value),
        // (arg & value) == valueTwo
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(a.value), two),
        other => return Err(format!("unknown seccomp comparison {other:?}")),
    };
    Ok((a.index, ScmpArgCompare::new(a.index, op, datum)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_compiles_to_whole_instructions_and_bad_ones_are_named() {
        let section = br#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [{"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                         {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;
        let bpf = compile(section).unwrap();
        assert!(
            !bpf.is_empty() && bpf.len().is_multiple_of(8),
            "{}",
            bpf.len()
        );
        let bad = compile(br#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap_err();
        assert!(bad.contains("SCMP_ACT_NOPE"), "{bad}");
        let idx = compile(
            br#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap_err();
        assert!(idx.contains("index 9"), "{idx}");
    }
}
