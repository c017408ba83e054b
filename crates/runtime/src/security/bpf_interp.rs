//! A classic-BPF interpreter for seccomp programs, for tests only: runs a
//! program on one `struct seccomp_data` as the kernel would and returns the
//! action, so two programs can be compared call by call (bpf_ranges.rs is
//! checked against libseccomp's program this way).

/// One system call as the filter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Call {
    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&(self.arch as i32).to_ne_bytes());
        b[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        b
    }
}

/// What a run returned, and whether it read an argument or the
/// instruction pointer (callers probe more argument values when it did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub action: u32,
    pub read_args: bool,
}

/// Runs `prog` on `call`. Panics on what the kernel's checker would refuse
/// (a jump out of the program, a load outside seccomp_data, no return).
pub fn run(prog: &[libc::sock_filter], call: &Call) -> Outcome {
    let data = call.bytes();
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut read_args = false;
    let mut pc = 0usize;
    loop {
        let ins = prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} past the end"));
        let k = ins.k;
        pc += 1;
        let class = ins.code & 0x07;
        match class {
            0x00 | 0x01 => {
                // LD / LDX
                let v = match ins.code & 0xe0 {
                    0x00 => k,
                    0x20 => {
                        assert!(ins.code & 0x18 == 0, "only 32-bit loads: {:#x}", ins.code);
                        let off = k as usize;
                        assert!(off.is_multiple_of(4) && off + 4 <= 64, "load at {off}");
                        if off >= 8 {
                            read_args = true;
                        }
                        u32::from_ne_bytes(data[off..off + 4].try_into().unwrap())
                    }
                    0x60 => mem[k as usize],
                    0x80 => 64,
                    m => panic!("load mode {m:#x}"),
                };
                if class == 0x00 {
                    a = v
                } else {
                    x = v
                }
            }
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 => {
                let src = if ins.code & 0x08 != 0 { x } else { k };
                a = match ins.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src).unwrap_or(0),
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src).unwrap_or(0),
                    0xa0 => a ^ src,
                    op => panic!("alu op {op:#x}"),
                };
            }
            0x05 => {
                let src = if ins.code & 0x08 != 0 { x } else { k };
                let taken = match ins.code & 0xf0 {
                    0x00 => {
                        pc += k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => panic!("jump op {op:#x}"),
                };
                pc += if taken { ins.jt } else { ins.jf } as usize;
            }
            0x06 => {
                let action = match ins.code & 0x18 {
                    0x00 => k,
                    0x10 => a,
                    m => panic!("ret source {m:#x}"),
                };
                return Outcome { action, read_args };
            }
            _ => {
                if ins.code & 0xf8 == 0x80 {
                    a = x
                } else {
                    x = a
                }
            }
        }
    }
}

/// A program's instructions, one a line (for failure messages).
pub fn disassemble(prog: &[libc::sock_filter]) -> String {
    prog.iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "{i:4}: code {:#06x} jt {:3} jf {:3} k {:#010x}\n",
                f.code, f.jt, f.jf, f.k
            )
        })
        .collect()
}
