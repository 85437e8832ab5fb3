//! The sandbox's seccomp filter, handed to `bwrap --seccomp FD` as a
//! compiled classic-BPF program.
//!
//! Modelled on what the engines' default profile refuses to a container
//! without `CAP_SYS_ADMIN`: new namespaces (the kernel's largest attack
//! surface reachable without privileges), mounts, kernel modules and
//! keyrings, BPF, perf, io_uring, clock and swap changes, and `kexec`.
//! Refused calls fail with `EPERM` (`clone3`: `ENOSYS`, so that the C
//! library falls back to `clone`, whose flags the filter can read); a
//! call made for another architecture (32-bit `int 0x80`, x32) kills the
//! process, as a filter that only knows x86_64 numbers cannot judge it.
//! Everything else is allowed: the filter narrows the kernel's surface,
//! it does not enumerate what programs may do.
//!
//! Where memory is limited per process (`RLIMIT_DATA`, no cgroup), the
//! filter also refuses the memory that limit does not count: shared
//! anonymous mappings, `memfd_create` and System V shared memory (files
//! in `/dev/shm` and the other tmpfs mounts are bounded by their size).

/// The filter for this machine's architecture; `None` where sbx has no
/// table of system call numbers (then bwrap runs without one, and `doctor`
/// and the README say so). `per_process`: memory is limited by rlimits.
pub fn program(per_process: bool) -> Option<Vec<u8>> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(encode(&x86_64::filter(per_process)))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = per_process;
        None
    }
}

/// `struct sock_filter`, as the kernel reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

fn encode(prog: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use super::Insn;

    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_BIT: u32 = 0x4000_0000;
    const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

    // Offsets in `struct seccomp_data`.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    /// Low 32 bits of the first argument (little-endian).
    const ARG0: u32 = 16;
    /// Low 32 bits of the fourth (`mmap`'s flags).
    const ARG3: u32 = 40;

    /// `clone` flags that make a namespace.
    const NAMESPACE_FLAGS: u32 = (libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP) as u32;

    /// Refused with `EPERM`.
    const DENIED: &[libc::c_long] = &[
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_keyctl,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_lookup_dcookie,
        libc::SYS_quotactl,
        libc::SYS_acct,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_syslog,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_uselib,
        libc::SYS_ustat,
        libc::SYS_sysfs,
        libc::SYS__sysctl,
        libc::SYS_vhangup,
        libc::SYS_nfsservctl,
    ];

    fn stmt(code: u16, k: u32) -> Insn {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// Refused with `EPERM` too where memory is limited per process: memory
    /// `RLIMIT_DATA` does not count.
    const UNCOUNTED_MEMORY: &[libc::c_long] = &[libc::SYS_memfd_create, libc::SYS_shmget];

    pub fn filter(per_process: bool) -> Vec<Insn> {
        let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        let mut p = vec![
            stmt(BPF_LD_W_ABS, ARCH),
            jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD_W_ABS, NR),
            jump(BPF_JGE_K, X32_BIT, 0, 1),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
            // clone3 passes its flags in memory the filter cannot read.
            jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1),
            stmt(BPF_RET_K, enosys),
            // clone: allowed unless it asks for a namespace.
            jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 4),
            stmt(BPF_LD_W_ABS, ARG0),
            jump(BPF_JSET_K, NAMESPACE_FLAGS, 0, 1),
            stmt(BPF_RET_K, eperm),
            stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
        ];
        let mut denied = DENIED.to_vec();
        if per_process {
            // mmap: refused when both shared and anonymous.
            p.extend([
                jump(BPF_JEQ_K, libc::SYS_mmap as u32, 0, 5),
                stmt(BPF_LD_W_ABS, ARG3),
                jump(BPF_JSET_K, libc::MAP_ANONYMOUS as u32, 0, 2),
                // MAP_SHARED and MAP_SHARED_VALIDATE; not MAP_PRIVATE.
                jump(BPF_JSET_K, libc::MAP_SHARED as u32, 0, 1),
                stmt(BPF_RET_K, eperm),
                stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
            ]);
            denied.extend_from_slice(UNCOUNTED_MEMORY);
        }
        // Each denied call: equal → the EPERM return at the end.
        let n = denied.len();
        for (i, nr) in denied.iter().enumerate() {
            // Past the remaining comparisons and the ALLOW.
            let to_eperm = (n - i) as u8;
            p.push(jump(BPF_JEQ_K, *nr as u32, to_eperm, 0));
        }
        p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
        p.push(stmt(BPF_RET_K, eperm));
        p
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::x86_64::filter;

    #[test]
    fn every_jump_of_the_filter_lands_inside_it_and_it_ends_in_returns() {
        for per_process in [false, true] {
            let p = filter(per_process);
            assert!(p.len() < 4096, "the kernel's limit on a filter's length");
            for (i, insn) in p.iter().enumerate() {
                if insn.code & 0x07 == 0x05 {
                    assert!(i + 1 + (insn.jt as usize) < p.len(), "jt of {i}");
                    assert!(i + 1 + (insn.jf as usize) < p.len(), "jf of {i}");
                }
            }
            assert_eq!(p[p.len() - 1].code, 0x06);
            assert_eq!(p[p.len() - 2].code, 0x06);
        }
    }
}
