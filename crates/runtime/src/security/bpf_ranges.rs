//! Re-emits a compiled seccomp program (libseccomp's, compile.rs) as a
//! shorter one with the same action for every system call: per
//! architecture, a binary search over ranges of consecutive syscall
//! numbers that share an outcome, instead of one comparison per number.
//!
//! Why: the kernel converts and JIT-compiles the whole program at every
//! load (every container start), and libseccomp spends one `jeq` per
//! allowed call per architecture (957 of the default profile's 1227
//! instructions for x86_64, x32 and i386). The allow list is mostly runs of
//! neighbouring numbers, so ranges need a fraction of that.
//!
//! How, and why it cannot change what the filter does: the original program
//! is evaluated symbolically for each architecture it names (and for "any
//! other architecture"), with the syscall number as an interval that every
//! comparison on it splits. That partitions the numbers 0..=u32::MAX into
//! intervals on which the program takes the same path up to the first
//! argument load; from there on, the argument tests are kept as they were
//! (the same loads, masks and comparisons, in the same order), with further
//! tests on the number folded for the interval. The result is the original
//! program's decision, reorganised, not a new reading of the profile:
//! libseccomp keeps deciding the tables, the x86 socketcall/ipc
//! multiplexing, the 64-bit argument halves and the action precedence. A
//! program using anything beyond the plain loads, constant ALU operations,
//! constant jumps and constant returns libseccomp emits is left as it was
//! (`None`). The tests (bpf_interp.rs) run both programs over every number
//! 0..1023 per architecture with many argument values.

use std::collections::HashMap;

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;

const LD_W_ABS: u16 = 0x20;
const LD_IMM: u16 = 0x00;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

/// Beyond this many symbolic steps the program is left as it was (only a
/// pathological program gets near: the default profile takes a few thousand).
const BUDGET: usize = 200_000;

/// What the accumulator holds during the symbolic run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Acc {
    Const(u32),
    /// The syscall number (its interval is in the state).
    Nr,
    /// An architecture the program never names.
    OtherArch,
    /// A value computed from the arguments or instruction pointer: the
    /// load and the ALU operations on it, to be emitted again as they were.
    Data(Vec<(u16, u32)>),
}

/// A decision on the call's data once the number (and arch) is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Node {
    Ret(u32),
    Test {
        expr: Vec<(u16, u32)>,
        code: u16,
        k: u32,
        t: usize,
        f: usize,
    },
}

/// Intervals of syscall numbers (inclusive) with the node deciding them,
/// sorted and covering the interval asked for.
type Partition = Vec<(u32, u32, usize)>;

struct Explorer<'a> {
    prog: &'a [libc::sock_filter],
    arch: Option<u32>,
    /// Architecture values compared against while exploring OtherArch.
    named_arches: Vec<u32>,
    nodes: Vec<Node>,
    interned: HashMap<Node, usize>,
    memo: HashMap<(usize, Acc, u32, u32), Partition>,
    steps: usize,
}

struct Unsupported;

impl Explorer<'_> {
    fn node(&mut self, n: Node) -> usize {
        if let Node::Test { t, f, .. } = n {
            if t == f {
                return t;
            }
        }
        if let Some(&id) = self.interned.get(&n) {
            return id;
        }
        self.nodes.push(n.clone());
        self.interned.insert(n, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// The outcome of running the program from `pc` with `acc` for every
    /// number in lo..=hi.
    fn explore(
        &mut self,
        mut pc: usize,
        mut acc: Acc,
        lo: u32,
        hi: u32,
    ) -> Result<Partition, Unsupported> {
        let key = (pc, acc.clone(), lo, hi);
        if let Some(p) = self.memo.get(&key) {
            return Ok(p.clone());
        }
        let out = loop {
            self.steps += 1;
            if self.steps > BUDGET {
                return Err(Unsupported);
            }
            let ins = *self.prog.get(pc).ok_or(Unsupported)?;
            pc += 1;
            let k = ins.k;
            match ins.code {
                LD_W_ABS => {
                    acc = match k {
                        NR => Acc::Nr,
                        ARCH => self.arch.map_or(Acc::OtherArch, Acc::Const),
                        8..=60 if k.is_multiple_of(4) => Acc::Data(vec![(ins.code, k)]),
                        _ => return Err(Unsupported),
                    }
                }
                LD_IMM => acc = Acc::Const(k),
                // ALU with a constant operand (BPF_ALU | op | BPF_K); NEG.
                0x04 | 0x14 | 0x24 | 0x44 | 0x54 | 0x64 | 0x74 | 0x84 | 0xa4 => {
                    acc = match acc {
                        Acc::Const(v) => Acc::Const(alu(ins.code, v, k).ok_or(Unsupported)?),
                        Acc::Data(mut e) => {
                            alu(ins.code, 0, k).ok_or(Unsupported)?;
                            e.push((ins.code, k));
                            Acc::Data(e)
                        }
                        _ => return Err(Unsupported),
                    }
                }
                JA => pc = pc.checked_add(k as usize).ok_or(Unsupported)?,
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let (t, f) = (pc + ins.jt as usize, pc + ins.jf as usize);
                    break self.branch(ins.code, k, acc, t, f, lo, hi)?;
                }
                RET_K => break vec![(lo, hi, self.node(Node::Ret(k)))],
                // RET A
                0x16 => match acc {
                    Acc::Const(v) => break vec![(lo, hi, self.node(Node::Ret(v)))],
                    _ => return Err(Unsupported),
                },
                _ => return Err(Unsupported),
            }
        };
        self.memo.insert(key, out.clone());
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn branch(
        &mut self,
        code: u16,
        k: u32,
        acc: Acc,
        t: usize,
        f: usize,
        lo: u32,
        hi: u32,
    ) -> Result<Partition, Unsupported> {
        match acc {
            Acc::Const(v) => {
                let taken = jump(code, v, k);
                self.explore(if taken { t } else { f }, acc, lo, hi)
            }
            Acc::OtherArch => {
                if code != JEQ_K {
                    return Err(Unsupported);
                }
                if !self.named_arches.contains(&k) {
                    self.named_arches.push(k);
                }
                self.explore(f, acc, lo, hi)
            }
            Acc::Nr => {
                // The numbers in lo..=hi for which the jump is taken form one
                // interval (jeq, jgt, jge); the rest at most two.
                let taken: Option<(u32, u32)> = match code {
                    JEQ_K => (lo..=hi).contains(&k).then_some((k, k)),
                    0x25 => (hi > k).then(|| (lo.max(k.saturating_add(1)), hi)),
                    JGE_K => (hi >= k).then(|| (lo.max(k), hi)),
                    _ if lo == hi => jump(code, lo, k).then_some((lo, hi)),
                    _ => return Err(Unsupported),
                };
                let mut out = Vec::new();
                match taken {
                    None => out = self.explore(f, Acc::Nr, lo, hi)?,
                    Some((a, b)) => {
                        if a > lo {
                            out.extend(self.explore(f, Acc::Nr, lo, a - 1)?);
                        }
                        out.extend(self.explore(t, Acc::Nr, a, b)?);
                        if b < hi {
                            out.extend(self.explore(f, Acc::Nr, b + 1, hi)?);
                        }
                    }
                }
                Ok(out)
            }
            Acc::Data(expr) => {
                let yes = self.explore(t, Acc::Data(expr.clone()), lo, hi)?;
                let no = self.explore(f, Acc::Data(expr.clone()), lo, hi)?;
                // Both cover lo..=hi: cut at every boundary of either.
                let (mut i, mut j, mut at) = (0, 0, lo);
                let mut out: Partition = Vec::new();
                loop {
                    let (y, n) = (yes[i], no[j]);
                    let end = y.1.min(n.1);
                    let node = self.node(Node::Test {
                        expr: expr.clone(),
                        code,
                        k,
                        t: y.2,
                        f: n.2,
                    });
                    out.push((at, end, node));
                    if end == hi {
                        break;
                    }
                    at = end + 1;
                    if y.1 == end {
                        i += 1;
                    }
                    if n.1 == end {
                        j += 1;
                    }
                }
                Ok(out)
            }
        }
    }
}

fn alu(code: u16, a: u32, k: u32) -> Option<u32> {
    Some(match code & 0xf0 {
        0x00 => a.wrapping_add(k),
        0x10 => a.wrapping_sub(k),
        0x20 => a.wrapping_mul(k),
        0x40 => a | k,
        0x50 => a & k,
        0x60 => a.checked_shl(k)?,
        0x70 => a.checked_shr(k)?,
        0x80 => a.wrapping_neg(),
        0xa0 => a ^ k,
        _ => return None,
    })
}

fn jump(code: u16, a: u32, k: u32) -> bool {
    match code & 0xf0 {
        0x10 => a == k,
        0x20 => a > k,
        0x30 => a >= k,
        _ => a & k != 0,
    }
}

/// Merges neighbouring intervals with the same outcome.
fn coalesce(p: Partition) -> Partition {
    let mut out: Partition = Vec::with_capacity(p.len());
    for (lo, hi, n) in p {
        match out.last_mut() {
            Some(last) if last.2 == n && last.1.wrapping_add(1) == lo => last.1 = hi,
            _ => out.push((lo, hi, n)),
        }
    }
    out
}

/// Builds a program backwards (classic BPF only jumps forward, so every
/// target exists before the jump to it is written). `rev[i]` is the i-th
/// instruction from the end; a position is such an index.
#[derive(Default)]
struct Builder {
    rev: Vec<libc::sock_filter>,
    node_at: HashMap<usize, (usize, usize)>,
    ret_at: HashMap<u32, usize>,
}

impl Builder {
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        self.rev.len() - 1
    }

    /// A conditional jump; a target further than 255 instructions is
    /// reached through an unconditional `ja` (32-bit offset) next to it.
    fn cond(&mut self, code: u16, k: u32, mut t: usize, mut f: usize) -> usize {
        loop {
            let here = self.rev.len();
            if here - t - 1 > 255 {
                t = self.push(JA, 0, 0, (here - t - 1) as u32);
            } else if here - f - 1 > 255 {
                f = self.push(JA, 0, 0, (here - f - 1) as u32);
            } else {
                return self.push(code, (here - t - 1) as u8, (here - f - 1) as u8, k);
            }
        }
    }

    fn ret(&mut self, k: u32) -> usize {
        if let Some(&at) = self.ret_at.get(&k) {
            // Reuse a return nearby; a far one would cost a `ja` anyway.
            if self.rev.len() - at <= 200 {
                return at;
            }
        }
        let at = self.push(RET_K, 0, 0, k);
        self.ret_at.insert(k, at);
        at
    }

    /// Emits `id` (once); its (entry, test) positions: the entry loads the
    /// node's value, the test compares the value already loaded.
    fn node(&mut self, nodes: &[Node], id: usize) -> (usize, usize) {
        if let Node::Ret(k) = nodes[id] {
            // Not kept in node_at: ret() reuses only a return within reach.
            let r = self.ret(k);
            return (r, r);
        }
        if let Some(&at) = self.node_at.get(&id) {
            return at;
        }
        let at = match &nodes[id] {
            Node::Ret(_) => unreachable!(),
            Node::Test {
                expr,
                code,
                k,
                t,
                f,
            } => {
                let target = |b: &mut Builder, child: usize| {
                    let (entry, test) = b.node(nodes, child);
                    // The accumulator already holds the child's value when
                    // it tests the same expression: skip its loads.
                    match &nodes[child] {
                        Node::Test { expr: e, .. } if e == expr => test,
                        _ => entry,
                    }
                };
                let f = target(self, *f);
                let t = target(self, *t);
                let test = self.cond(*code, *k, t, f);
                let mut entry = test;
                for &(c, kk) in expr.iter().rev() {
                    entry = self.push(c, 0, 0, kk);
                }
                (entry, test)
            }
        };
        self.node_at.insert(id, at);
        at
    }

    /// A binary search over `p` (the accumulator holds the number).
    fn search(&mut self, nodes: &[Node], p: &[(u32, u32, usize)]) -> usize {
        if p.len() == 1 {
            return self.node(nodes, p[0].2).0;
        }
        let mid = p.len() / 2;
        let upper = self.search(nodes, &p[mid..]);
        let lower = self.search(nodes, &p[..mid]);
        self.cond(JGE_K, p[mid].0, upper, lower)
    }

    fn finish(self) -> Vec<libc::sock_filter> {
        let mut v = self.rev;
        v.reverse();
        v
    }
}

/// The raw `struct sock_filter` array (as libseccomp exports it) as
/// instructions; a trailing partial instruction is dropped.
pub fn from_bytes(bytes: &[u8]) -> Vec<libc::sock_filter> {
    bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// The inverse of `from_bytes`.
pub fn to_bytes(prog: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for f in prog {
        out.extend_from_slice(&f.code.to_ne_bytes());
        out.extend_from_slice(&[f.jt, f.jf]);
        out.extend_from_slice(&f.k.to_ne_bytes());
    }
    out
}

/// The shorter program for `prog`, or None when it uses something this does
/// not model or would not come out shorter.
pub fn shorten(prog: &[libc::sock_filter]) -> Option<Vec<libc::sock_filter>> {
    reemit(prog).filter(|out| out.len() < prog.len() && out.len() <= 4096)
}

/// `prog` re-emitted as ranges, or None when it uses something this does
/// not model.
fn reemit(prog: &[libc::sock_filter]) -> Option<Vec<libc::sock_filter>> {
    let mut ex = Explorer {
        prog,
        arch: None,
        named_arches: Vec::new(),
        nodes: Vec::new(),
        interned: HashMap::new(),
        memo: HashMap::new(),
        steps: 0,
    };
    // Any architecture the program does not name first: that finds the names.
    let other = coalesce(ex.explore(0, Acc::Const(0), 0, u32::MAX).ok()?);
    let mut per_arch = Vec::new();
    for arch in ex.named_arches.clone() {
        ex.arch = Some(arch);
        ex.memo.clear();
        per_arch.push((
            arch,
            coalesce(ex.explore(0, Acc::Const(0), 0, u32::MAX).ok()?),
        ));
    }
    let nodes = ex.nodes;
    let mut b = Builder::default();
    let block = |b: &mut Builder, p: &Partition| -> usize {
        let at = b.search(&nodes, p);
        if p.len() > 1 {
            b.push(LD_W_ABS, 0, 0, NR)
        } else {
            at
        }
    };
    let mut next = block(&mut b, &other);
    for (arch, p) in per_arch.iter().rev() {
        let body = block(&mut b, p);
        next = b.cond(JEQ_K, *arch, body, next);
    }
    b.push(LD_W_ABS, 0, 0, ARCH);
    Some(b.finish())
}

#[cfg(test)]
mod tests {
    use super::super::bpf_interp::{self, Call};
    use super::*;

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
    const X32_BIT: u32 = 0x4000_0000;

    /// Argument values worth probing: every constant the program compares
    /// with, its neighbours, and the same in the upper half of 64 bits.
    fn interesting(prog: &[libc::sock_filter]) -> Vec<u64> {
        let mut ks: Vec<u64> = vec![0, 1, 2, u32::MAX as u64, u64::MAX, 1 << 32];
        for f in prog {
            if f.code & 0x07 == 0x05 || f.code & 0x07 == 0x04 {
                let k = f.k as u64;
                for v in [k, k.wrapping_sub(1), k + 1] {
                    ks.push(v);
                    ks.push(v << 32);
                    ks.push(v << 32 | k);
                }
            }
        }
        ks.sort();
        ks.dedup();
        ks
    }

    /// Runs both programs over every number 0..1023 (and the x32 range,
    /// and a few far numbers) on x86_64, i386, aarch64 and an unknown
    /// architecture; where either reads arguments, over each interesting
    /// value in each argument and pseudo-random mixes of them. The number
    /// of calls compared, or the first that differs.
    fn compare(a: &[libc::sock_filter], b: &[libc::sock_filter]) -> Result<usize, String> {
        let values = interesting(a);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut nrs: Vec<u32> = (0..1024).collect();
        nrs.extend((0..1024).map(|n| n | X32_BIT));
        nrs.extend([
            0x3fff_ffff,
            0x4000_0000 + 5000,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
            u32::MAX - 1,
            4096,
        ]);
        let mut probes = 0;
        for arch in [
            AUDIT_ARCH_X86_64,
            AUDIT_ARCH_I386,
            AUDIT_ARCH_AARCH64,
            0x1234,
        ] {
            for &nr in &nrs {
                let mut check = |args: [u64; 6]| -> Result<bool, String> {
                    let call = Call {
                        nr,
                        arch,
                        ip: 0x7fff_0000_1000,
                        args,
                    };
                    let (x, y) = (bpf_interp::run(a, &call), bpf_interp::run(b, &call));
                    probes += 1;
                    if x.action != y.action {
                        return Err(format!(
                            "arch {arch:#x} nr {nr} args {args:x?}: {:#x} vs {:#x}",
                            x.action, y.action
                        ));
                    }
                    Ok(x.read_args || y.read_args)
                };
                if !check([0; 6])? {
                    continue;
                }
                for i in 0..6 {
                    for &v in &values {
                        let mut args = [0u64; 6];
                        args[i] = v;
                        check(args)?;
                    }
                }
                for _ in 0..200 {
                    let mut args = [0u64; 6];
                    for a in &mut args {
                        *a = values[rnd() as usize % values.len()];
                    }
                    check(args)?;
                }
            }
        }
        Ok(probes)
    }

    fn assert_same(a: &[libc::sock_filter], b: &[libc::sock_filter]) -> usize {
        compare(a, b).unwrap_or_else(|e| {
            panic!(
                "{e}\n{}\nvs\n{}",
                bpf_interp::disassemble(a),
                bpf_interp::disassemble(b)
            )
        })
    }

    fn compile_both(section: &str) -> (Vec<libc::sock_filter>, Vec<libc::sock_filter>) {
        let original =
            from_bytes(&super::super::compile::libseccomp_program(section.as_bytes()).unwrap());
        let short = reemit(&original).expect("the program is re-emitted");
        (original, short)
    }

    fn resolved(profile: &super::super::profile::Profile, caps: &[&str]) -> String {
        let t = super::super::profile::Target::native(caps.iter().map(|c| c.to_string()).collect());
        profile.resolve(&t).unwrap().to_string()
    }

    #[test]
    fn the_default_profile_decides_every_call_as_libseccomp_does_in_fewer_instructions() {
        let d = super::super::SecurityOptions::default();
        let caps = d.capabilities();
        let caps: Vec<&str> = caps.iter().map(|s| s.as_str()).collect();
        let p = super::super::default_profile::profile();
        for extra in [&[][..], &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"][..]] {
            let all: Vec<&str> = caps.iter().chain(extra).copied().collect();
            let (orig, short) = compile_both(&resolved(&p, &all));
            assert!(
                short.len() * 2 < orig.len(),
                "{} vs {} instructions",
                short.len(),
                orig.len()
            );
            let probes = assert_same(&orig, &short);
            eprintln!(
                "default profile (+{extra:?}): {} instructions, libseccomp's {}; {probes} calls compared",
                short.len(),
                orig.len()
            );
            assert!(probes > 10_000);
            // The comparison would see one changed action.
            let mut wrong = short.clone();
            let allow = wrong
                .iter()
                .position(|f| f.code == RET_K && f.k == 0x7fff_0000);
            wrong[allow.unwrap()].k = 0x0005_0001;
            assert!(compare(&orig, &wrong).is_err());
        }
    }

    #[test]
    fn podmans_profile_decides_every_call_as_libseccomp_does() {
        let Ok(text) = std::fs::read_to_string("/usr/share/containers/seccomp.json") else {
            eprintln!("no /usr/share/containers/seccomp.json (podman's profile): skipped");
            return;
        };
        let p = super::super::profile::parse(&text).unwrap();
        let (orig, short) = compile_both(&resolved(&p, &["CAP_CHOWN", "CAP_KILL"]));
        assert!(short.len() < orig.len());
        let probes = assert_same(&orig, &short);
        eprintln!(
            "podman's profile: {} instructions, libseccomp's {}; {probes} calls compared",
            short.len(),
            orig.len()
        );
    }

    #[test]
    fn argument_rules_and_every_action_survive_re_emission() {
        let section = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
              {"names": ["read", "write", "close", "openat", "getpid", "brk", "mmap"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
              {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
              {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
              {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
              {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
              {"names": ["kill"], "action": "SCMP_ACT_TRAP", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_GT"}, {"index": 0, "value": 100, "op": "SCMP_CMP_LE"}]},
              {"names": ["lseek"], "action": "SCMP_ACT_LOG", "args": [{"index": 2, "value": 8589934592, "op": "SCMP_CMP_GE"}]},
              {"names": ["pread64"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 3, "value": 12884901890, "op": "SCMP_CMP_LT"}]},
              {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 21505, "op": "SCMP_CMP_EQ"}]},
              {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["mount", "umount2"], "action": "SCMP_ACT_KILL"},
              {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}
            ]}"#;
        let (orig, short) = compile_both(section);
        let probes = assert_same(&orig, &short);
        eprintln!(
            "argument rules: {} instructions, libseccomp's {}; {probes} calls compared",
            short.len(),
            orig.len()
        );
        // Allow by default, refuse a few: the complement's shape.
        let (orig, short) = compile_both(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                "syscalls": [{"names": ["mount", "reboot", "socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
        );
        assert_same(&orig, &short);
    }

    #[test]
    fn a_far_target_is_reached_through_ja_and_unmodelled_programs_are_kept() {
        // A list of 600 numbers, each with its own action: the search tree's
        // halves are longer than one conditional jump can skip.
        let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        let mut chain = vec![
            ins(LD_W_ABS, 0, 0, ARCH),
            ins(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            ins(RET_K, 0, 0, 0),
            ins(LD_W_ABS, 0, 0, NR),
        ];
        for n in 0..600 {
            chain.push(ins(JEQ_K, 0, 1, n));
            chain.push(ins(RET_K, 0, 0, 0x0005_0000 | n));
        }
        chain.push(ins(RET_K, 0, 0, 0x7fff_0000));
        let short = reemit(&chain).unwrap();
        assert!(short.iter().any(|f| f.code == JA && f.k > 0));
        assert_same(&chain, &short);
        // The X register is not modelled: left alone.
        let tax = [
            ins(LD_W_ABS, 0, 0, 0),
            ins(0x07, 0, 0, 0),
            ins(RET_K, 0, 0, 0x7fff_0000),
        ];
        assert!(shorten(&tax).is_none());
    }

    /// The kernel's load of each program, timed in forked children (not
    /// run by CI: `hoist_runtime-* load_time --ignored --nocapture`).
    #[test]
    #[ignore]
    fn load_time_of_libseccomps_program_and_the_ranges() {
        let d = super::super::SecurityOptions::default();
        let caps = d.capabilities();
        let caps: Vec<&str> = caps.iter().map(|s| s.as_str()).collect();
        let p = super::super::default_profile::profile();
        let (orig, short) = compile_both(&resolved(&p, &caps));
        let allow = [libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        }];
        for round in 0..3 {
            for (name, prog) in [
                ("libseccomp", &orig),
                ("ranges", &short),
                ("ret allow", &allow.to_vec()),
            ] {
                let mut t: Vec<u64> = (0..200).map(|_| load_in_child(prog)).collect();
                t.sort();
                eprintln!(
                    "round {round}: {name:10} {:4} instructions: load median {:.1} us, min {:.1} us",
                    prog.len(),
                    t[t.len() / 2] as f64 / 1000.0,
                    t[0] as f64 / 1000.0
                );
            }
        }
    }

    /// Nanoseconds one seccomp(SECCOMP_SET_MODE_FILTER) of `prog` took in a
    /// forked child.
    fn load_in_child(prog: &[libc::sock_filter]) -> u64 {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut _,
        };
        let mut fds = [0i32; 2];
        // SAFETY: a pipe, then a child that only makes system calls and
        // _exits (nothing that could take a lock another thread held).
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let pid = libc::fork();
            if pid == 0 {
                let mut a = std::mem::zeroed::<libc::timespec>();
                let mut b = std::mem::zeroed::<libc::timespec>();
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut a);
                let rc = libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const _);
                libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut b);
                let ns: u64 = if rc == 0 {
                    ((b.tv_sec - a.tv_sec) * 1_000_000_000 + (b.tv_nsec - a.tv_nsec)) as u64
                } else {
                    u64::MAX
                };
                libc::write(fds[1], &ns as *const u64 as *const _, 8);
                libc::_exit(0);
            }
            let mut ns = 0u64;
            assert_eq!(libc::read(fds[0], &mut ns as *mut u64 as *mut _, 8), 8);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            libc::close(fds[0]);
            libc::close(fds[1]);
            assert_ne!(ns, u64::MAX, "seccomp() refused the program");
            ns
        }
    }
}
