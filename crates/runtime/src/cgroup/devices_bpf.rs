//! cgroup v2's device controller: the spec's `linux.resources.devices` rules
//! compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program and attached to the
//! container's cgroup (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), as runc and crun
//! do. v2 has no devices.allow file: the kernel runs the program on every
//! open and mknod of a device node and allows it only if the program returns 1.
//!
//! Written by hand on `libc`: the program is a few dozen fixed-shape
//! instructions and needs four bpf(2) commands. No small, well-kept crate does
//! only this; `aya` and `libbpf-rs` are whole frameworks (ELF loading, maps,
//! BTF, or a C toolchain) for what is here one syscall wrapper.
//!
//! Semantics (those of runc's devicefilter): the last rule that matches a
//! request decides it, so blocks are emitted from the last rule to the first;
//! a request no rule matches is denied. An allow rule matches when the
//! requested access is a subset of its access (a request for "rw" needs one
//! rule granting both, as in v1); a deny rule matches when it names any of the
//! requested accesses, so a deny of "w" cannot be bypassed by asking for "rw".

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Result, RuntimeError};

// bpf(2) commands, program/attach types and flags (linux/bpf.h). libc does
// not export them.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

// The program's context, struct bpf_cgroup_dev_ctx: access_type (device type
// in the low 16 bits, access in the high 16), major, minor; all u32.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: u8 = 1;
const ACC_READ: u8 = 2;
const ACC_WRITE: u8 = 4;
const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// No GPL-only helper is called (none at all), so any license string loads.
const LICENSE: &[u8] = b"Apache-2.0\0";
/// Shown by `bpftool prog` (at most 15 bytes).
const PROG_NAME: &[u8] = b"hoist_devices";

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg and src_reg, 4 bits each, in the bitfield order of the target.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used (class | op | source).
const LDX_MEM_W: u8 = 0x61;
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_MOV_X: u8 = 0xbf;
const JMP_JEQ_K: u8 = 0x15;
const JMP_JNE_K: u8 = 0x55;
const JMP_EXIT: u8 = 0x95;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        let regs = if cfg!(target_endian = "little") {
            dst | (src << 4)
        } else {
            (dst << 4) | src
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    pub fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    pub fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

/// One spec rule, checked and reduced to what the program compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    allow: bool,
    /// DEV_CHAR or DEV_BLOCK; None for "a" (every type).
    kind: Option<i32>,
    major: Option<i32>,
    minor: Option<i32>,
    access: u8,
}

impl Rule {
    fn from_spec(d: &LinuxDeviceCgroup) -> Result<Rule> {
        let bad = |why: &str| RuntimeError::Invalid(format!("device rule {d:?}: {why}"));
        let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
            LinuxDeviceType::B => Some(DEV_BLOCK),
            LinuxDeviceType::P => return Err(bad("type p (fifo) is not a device type")),
        };
        // -1 is the OCI wildcard as well as an absent number.
        let number = |n: Option<i64>, what: &str| match n {
            None | Some(-1) => Ok(None),
            Some(n) => i32::try_from(n)
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| bad(&format!("{what} {n} is out of range"))),
        };
        let mut access = 0;
        for c in d.access().as_deref().unwrap_or("rwm").chars() {
            access |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => return Err(bad(&format!("access {c:?} is not one of r, w, m"))),
            };
        }
        Ok(Rule {
            allow: d.allow(),
            kind,
            major: number(d.major(), "major")?,
            minor: number(d.minor(), "minor")?,
            access,
        })
    }

    /// The rule's block: tests that jump past it when the request does not
    /// match, then the verdict. Registers hold the request (see `program`).
    fn block(&self) -> Vec<Insn> {
        // (instruction, whether it is a jump to the block's end).
        let mut tests: Vec<(Insn, bool)> = Vec::new();
        if let Some(kind) = self.kind {
            tests.push((Insn::new(JMP_JNE_K, R2, 0, 0, kind), true));
        }
        if self.access != ACC_ALL {
            // r1 = requested & mask: an allow rule needs nothing outside its
            // access, a deny rule needs something inside it.
            let (mask, skip) = if self.allow {
                (!self.access & ACC_ALL, JMP_JNE_K)
            } else {
                (self.access, JMP_JEQ_K)
            };
            tests.push((Insn::new(ALU64_MOV_X, R1, R3, 0, 0), false));
            tests.push((Insn::new(ALU64_AND_K, R1, 0, 0, i32::from(mask)), false));
            tests.push((Insn::new(skip, R1, 0, 0, 0), true));
        }
        if let Some(major) = self.major {
            tests.push((Insn::new(JMP_JNE_K, R4, 0, 0, major), true));
        }
        if let Some(minor) = self.minor {
            tests.push((Insn::new(JMP_JNE_K, R5, 0, 0, minor), true));
        }
        let len = tests.len() + 2;
        let mut out: Vec<Insn> = tests
            .into_iter()
            .enumerate()
            .map(|(i, (mut insn, skips))| {
                if skips {
                    // Offsets count from the next instruction.
                    insn.off = (len - i - 1) as i16;
                }
                insn
            })
            .collect();
        out.push(Insn::new(ALU64_MOV_K, R0, 0, 0, i32::from(self.allow)));
        out.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        out
    }

    /// Whether the rule matches every request (nothing after it can run).
    fn matches_all(&self) -> bool {
        let any = self.kind.is_none() && self.major.is_none() && self.minor.is_none();
        any && self.access == ACC_ALL
    }
}

/// Compiles the rules into the program (pure; the kernel's verifier checks
/// the result at load time).
pub fn program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>> {
    let rules = rules
        .iter()
        .map(Rule::from_spec)
        .collect::<Result<Vec<Rule>>>()?;
    // r2 = device type, r3 = requested access, r4 = major, r5 = minor.
    let mut insns = vec![
        Insn::new(LDX_MEM_W, R2, R1, CTX_ACCESS_TYPE, 0),
        Insn::new(ALU64_AND_K, R2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, R3, R1, CTX_ACCESS_TYPE, 0),
        Insn::new(ALU64_RSH_K, R3, 0, 0, 16),
        Insn::new(LDX_MEM_W, R4, R1, CTX_MAJOR, 0),
        Insn::new(LDX_MEM_W, R5, R1, CTX_MINOR, 0),
    ];
    // Last rule first. A rule matching everything ends the program: the
    // verifier refuses unreachable instructions after it, and it already is
    // the default.
    for rule in rules.iter().rev() {
        insns.extend(rule.block());
        if rule.matches_all() {
            return Ok(insns);
        }
    }
    insns.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
    insns.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    Ok(insns)
}

/// Loads the program for `rules` and attaches it to the cgroup directory
/// `dir`, then detaches the device programs attached there before (a cgroup
/// reused after a crash keeps exactly one). The kernel holds the program while
/// it is attached; it goes with the cgroup.
pub fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let err = |message: String| RuntimeError::Cgroup {
        path: dir.display().to_string(),
        message,
    };
    let insns = program(rules)?;
    let cgroup = open_dir(dir).map_err(|e| err(format!("opening it: {e}")))?;
    let old = query(&cgroup).map_err(|e| err(format!("listing its device programs: {e}")))?;
    let prog = load(&insns).map_err(|e| err(format!("loading the device program: {e}")))?;
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map_err(|e| err(format!("attaching the device program: {e}")))?;
    for id in old {
        if let Err(e) = detach(&cgroup, id) {
            // The old program stays: the container is at most more confined.
            tracing::warn!(cgroup = %dir.display(), id, "detaching an old device program: {e}");
        }
    }
    tracing::debug!(cgroup = %dir.display(), insns = insns.len(), "device program attached");
    Ok(())
}

/// The ids of the device programs attached directly to the cgroup `dir`.
pub fn attached(dir: &Path) -> std::io::Result<Vec<u32>> {
    query(&open_dir(dir)?)
}

fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path; the fd returned is owned here.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// The leading fields of union bpf_attr each command reads; the kernel takes a
// shorter attr than its own and treats the rest as zero.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2); the kernel may write results back into `attr`.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: attr is a live repr(C) prefix of union bpf_attr of the given
    // size; pointers inside it point to buffers that outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn load(insns: &[Insn]) -> std::io::Result<OwnedFd> {
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..PROG_NAME.len()].copy_from_slice(PROG_NAME);
    let fd = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => fd,
        // Refused by the verifier: load again to get its reasons.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EACCES)) => {
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let again = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let tail: Vec<&str> = text.lines().rev().take(4).collect();
            let reason = tail.into_iter().rev().collect::<Vec<_>>().join("; ");
            match again {
                Ok(fd) => fd,
                Err(_) => return Err(std::io::Error::other(format!("{e} (verifier: {reason})"))),
            }
        }
        Err(e) => return Err(e),
    };
    // SAFETY: the kernel returned a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn query(cgroup: &OwnedFd) -> std::io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    bpf(BPF_PROG_QUERY, &mut attr)?;
    // The kernel wrote back how many programs are attached.
    ids.truncate((attr.prog_cnt as usize).min(ids.len()));
    Ok(ids)
}

fn detach(cgroup: &OwnedFd, id: u32) -> std::io::Result<()> {
    let mut get = GetFdByIdAttr {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
    };
    // SAFETY: the kernel returned a new fd owned by nobody else.
    let prog = unsafe { OwnedFd::from_raw_fd(bpf(BPF_PROG_GET_FD_BY_ID, &mut get)? as i32) };
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    /// Runs a program built here on one request, as the kernel would (only
    /// the opcodes `program` emits).
    fn run(insns: &[Insn], kind: i32, access: &str, major: u32, minor: u32) -> bool {
        let acc = access.chars().fold(0u64, |a, c| {
            a | u64::from(match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                _ => ACC_MKNOD,
            })
        });
        let ctx = [
            (acc << 16) | kind as u64,
            u64::from(major),
            u64::from(minor),
        ];
        let mut reg = [0u64; 11];
        let mut pc = 0;
        loop {
            let i = insns[pc];
            let (dst, src, imm) = (i.dst() as usize, i.src() as usize, i.imm as i64 as u64);
            let mut next = pc + 1;
            let jump = next.wrapping_add_signed(isize::from(i.off));
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    reg[dst] = ctx[i.off as usize / 4];
                }
                ALU64_AND_K => reg[dst] &= imm,
                ALU64_RSH_K => reg[dst] >>= imm,
                ALU64_MOV_K => reg[dst] = imm,
                ALU64_MOV_X => reg[dst] = reg[src],
                JMP_JEQ_K if reg[dst] == imm => next = jump,
                JMP_JNE_K if reg[dst] != imm => next = jump,
                JMP_JEQ_K | JMP_JNE_K => {}
                JMP_EXIT => return reg[0] == 1,
                c => panic!("unexpected opcode {c:#x}"),
            }
            pc = next;
        }
    }

    fn rule(allow: bool, typ: &str, major: i64, minor: i64, access: &str) -> LinuxDeviceCgroup {
        let typ = match typ {
            "a" => LinuxDeviceType::A,
            "b" => LinuxDeviceType::B,
            "p" => LinuxDeviceType::P,
            _ => LinuxDeviceType::C,
        };
        LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .major(major)
            .minor(minor)
            .access(access)
            .build()
            .unwrap()
    }

    const C: i32 = DEV_CHAR;
    const B: i32 = DEV_BLOCK;

    #[test]
    fn docker_rules_from_the_spec() {
        let spec = crate::spec::build_spec(&crate::spec::SpecInput {
            args: vec!["sh".into()],
            cwd: "/".into(),
            rootfs: "rootfs".into(),
            ..Default::default()
        })
        .unwrap();
        let linux = spec.linux().clone().unwrap();
        let rules = linux
            .resources()
            .clone()
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        let p = program(&rules).unwrap();
        assert!(run(&p, C, "rw", 1, 3), "/dev/null");
        assert!(run(&p, C, "m", 1, 3));
        assert!(run(&p, C, "rw", 136, 7), "a pty (any minor)");
        assert!(run(&p, C, "rw", 10, 200), "/dev/net/tun");
        assert!(run(&p, C, "m", 7, 0), "mknod of any char device");
        assert!(!run(&p, C, "r", 7, 0), "opening one not listed");
        assert!(!run(&p, C, "rw", 10, 229));
        assert!(!run(&p, B, "m", 8, 0), "no block devices");
        assert!(!run(&p, B, "r", 8, 0));
        // The leading deny-all is the program's end: no second default.
        let n = p.len();
        assert_eq!(p[n - 2], Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
        assert_eq!(p[n - 3].code, JMP_EXIT);
    }

    #[test]
    fn last_matching_rule_wins() {
        let p = program(&[rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "w")]).unwrap();
        assert!(run(&p, C, "r", 1, 3));
        assert!(!run(&p, C, "w", 1, 3));
        assert!(
            !run(&p, C, "rw", 1, 3),
            "a deny of w covers a request for rw"
        );
        assert!(run(&p, B, "rw", 8, 0));
        let p = program(&[
            rule(false, "a", -1, -1, "rwm"),
            rule(true, "c", 1, 3, "r"),
            rule(false, "c", 1, -1, "rwm"),
        ])
        .unwrap();
        assert!(!run(&p, C, "r", 1, 3));
        let p = program(&[rule(false, "c", 1, -1, "rwm"), rule(true, "c", 1, 3, "r")]).unwrap();
        assert!(run(&p, C, "r", 1, 3));
        assert!(!run(&p, C, "r", 1, 5), "no rule matches: denied");
    }

    #[test]
    fn an_allow_rule_must_grant_every_requested_access() {
        let p = program(&[rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "w")]).unwrap();
        assert!(run(&p, C, "r", 1, 3));
        assert!(run(&p, C, "w", 1, 3));
        assert!(!run(&p, C, "rw", 1, 3));
        assert!(!run(&p, C, "m", 1, 3));
        assert!(!run(&p, B, "r", 1, 3), "type is compared");
    }

    #[test]
    fn nothing_is_emitted_after_a_rule_matching_everything() {
        let p = program(&[rule(true, "c", 1, 3, "rwm"), rule(true, "a", -1, -1, "rwm")]).unwrap();
        assert_eq!(p.len(), 6 + 2, "prologue and one verdict");
        assert!(run(&p, B, "rwm", 8, 0));
    }

    #[test]
    fn bad_rules_are_refused() {
        for (r, why) in [
            (rule(true, "p", 1, 3, "r"), "fifo"),
            (rule(true, "c", 1, 3, "rx"), "access 'x'"),
            (rule(true, "c", 1 << 40, 3, "r"), "out of range"),
            (rule(true, "c", 1, -2, "r"), "out of range"),
        ] {
            let e = program(&[r]).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
