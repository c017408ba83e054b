/* The escape suite's attempts, each one system call (or open) that container
 * escapes go through. Built static by the test (gcc -static) and run inside
 * a container: prints one line per attempt, "NAME allowed" or "NAME refused
 * ERRNO-NAME". Nothing harmful is done when an attempt is allowed: files are
 * only opened for writing, never written; kexec_load gets invalid flags (the
 * kernel checks the capability first, then refuses the flags); init_module
 * gets no module; the bpf map and perf event are closed at once.
 *
 * Usage: escape ATTEMPT...   (or "all"); escape euid (prints the euid). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <dirent.h>
#include <unistd.h>

/* Result of an attempt: 0 = allowed, else the errno that refused it. */
typedef int (*attempt_fn)(void);

static int rc(long r) { return r < 0 ? errno : 0; }

static int open_w(const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    close(fd); /* opened, never written */
    return 0;
}

static int a_unshare_user(void) { return rc(unshare(CLONE_NEWUSER)); }
static int a_unshare_mount(void) { return rc(unshare(CLONE_NEWNS)); }
static int a_mount(void) { return rc(mount("none", "/tmp", "tmpfs", 0, "size=1m")); }
static int a_keyctl(void) {
    /* KEYCTL_JOIN_SESSION_KEYRING: needs no capability at all. */
    return rc(syscall(SYS_keyctl, 1, "escape-suite"));
}
static int a_bpf(void) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) return errno;
    close(fd);
    return 0;
}
static int a_perf_event_open(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) return errno;
    close(fd);
    return 0;
}
static int a_open_by_handle_at(void) {
    /* "shocker": a handle from name_to_handle_at, opened again by handle.
     * Where no filesystem here exports handles (overlay), a made-up handle:
     * past the filter and the CAP_DAC_READ_SEARCH check, the kernel can
     * only find it stale, so ESTALE counts as allowed. */
    struct { struct file_handle h; unsigned char bytes[128]; } fh;
    int mount_id;
    const char *paths[] = {"/dev/shm", "/dev", "/"};
    int have = 0, mount_fd = AT_FDCWD;
    for (unsigned i = 0; i < sizeof paths / sizeof *paths && !have; i++) {
        fh.h.handle_bytes = sizeof fh.bytes;
        have = name_to_handle_at(AT_FDCWD, paths[i], &fh.h, &mount_id, 0) == 0;
        if (have) mount_fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (!have) {
        memset(&fh, 0, sizeof fh);
        fh.h.handle_bytes = 8;
        fh.h.handle_type = 1;
    }
    int fd = open_by_handle_at(mount_fd, &fh.h, O_RDONLY);
    if (fd < 0) return (!have && (errno == ESTALE || errno == EINVAL)) ? 0 : errno;
    close(fd);
    return 0;
}
static int a_kexec_load(void) {
    /* Flags no kernel accepts: allowed means EINVAL, never a load. */
    long r = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL);
    if (r < 0 && errno == EINVAL) return 0;
    return rc(r);
}
static int a_init_module(void) {
    long r = syscall(SYS_init_module, NULL, 0UL, "");
    /* Past the capability check, an empty image is EFAULT/EINVAL/ENOEXEC. */
    if (r < 0 && (errno == EFAULT || errno == EINVAL || errno == ENOEXEC)) return 0;
    return rc(r);
}
static int a_ptrace_outside(void) {
    /* A process outside the container: given as ESCAPE_OUTSIDE_PID (its PID
     * on the host); from inside, it must be unreachable or refused. */
    const char *p = getenv("ESCAPE_OUTSIDE_PID");
    if (!p) return EDESTADDRREQ; /* the test must say which process */
    pid_t pid = (pid_t)atoi(p);
    long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
    if (r == 0) ptrace(PTRACE_DETACH, pid, NULL, NULL);
    return rc(r);
}
static int a_mknod_block(void) {
    int r = mknod("/tmp/escape-sda", S_IFBLK | 0600, makedev(8, 0));
    if (r == 0) unlink("/tmp/escape-sda");
    return rc(r);
}
static int a_proc_sys_kernel(void) { return open_w("/proc/sys/kernel/core_pattern"); }
static int a_sysrq_trigger(void) { return open_w("/proc/sysrq-trigger"); }
static int a_sys_kernel(void) {
    /* The first writable /sys/kernel file this kernel has. */
    const char *files[] = {"/sys/kernel/uevent_helper", "/sys/kernel/profiling",
                           "/sys/kernel/rcu_expedited"};
    int err = ENOENT;
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
        int r = open_w(files[i]);
        if (r != ENOENT) return r;
    }
    return err;
}
static int a_cgroup_files(void) {
    /* v2: the unified tree's own file; v1: any hierarchy's. */
    int first = open_w("/sys/fs/cgroup/cgroup.procs");
    if (first == 0) return 0;
    DIR *d = opendir("/sys/fs/cgroup");
    if (!d) return first;
    struct dirent *e;
    int err = first;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
        int r = open_w(path);
        if (r == 0) { closedir(d); return 0; }
        if (r != ENOENT) err = r;
    }
    closedir(d);
    return err;
}
static int a_raw_socket(void) {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) return errno;
    close(s);
    return 0;
}
static int a_setns_pid1(void) {
    /* Every namespace of PID 1 as this process sees it: allowed if any join
     * works, else the mount namespace's answer. */
    const char *ns[] = {"mnt", "net", "pid", "ipc", "uts", "cgroup", "user"};
    int first = 0;
    for (unsigned i = 0; i < sizeof ns / sizeof *ns; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/1/ns/%s", ns[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        long r = fd < 0 ? -1 : syscall(SYS_setns, fd, 0);
        int err = errno;
        if (fd >= 0) close(fd);
        if (r == 0) return 0;
        if (!first) first = err;
    }
    return first;
}

static const struct { const char *name; attempt_fn fn; } ATTEMPTS[] = {
    {"unshare-user", a_unshare_user},
    {"unshare-mount", a_unshare_mount},
    {"mount", a_mount},
    {"keyctl", a_keyctl},
    {"bpf", a_bpf},
    {"perf_event_open", a_perf_event_open},
    {"open_by_handle_at", a_open_by_handle_at},
    {"kexec_load", a_kexec_load},
    {"init_module", a_init_module},
    {"ptrace-outside", a_ptrace_outside},
    {"mknod-block", a_mknod_block},
    {"write-proc-sys-kernel", a_proc_sys_kernel},
    {"write-sysrq-trigger", a_sysrq_trigger},
    {"write-sys-kernel", a_sys_kernel},
    {"write-cgroup", a_cgroup_files},
    {"raw-socket", a_raw_socket},
    {"setns-pid1", a_setns_pid1},
};
#define N_ATTEMPTS (sizeof ATTEMPTS / sizeof *ATTEMPTS)

/* Each attempt in a child of its own, so that one that succeeds (a new user
 * namespace gives every capability inside it) cannot help the next. */
static void run(unsigned i) {
    pid_t pid = fork();
    if (pid == 0) _exit(ATTEMPTS[i].fn());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
        printf("%s error\n", ATTEMPTS[i].name);
        return;
    }
    int err = WEXITSTATUS(status);
    if (err == 0)
        printf("%s allowed\n", ATTEMPTS[i].name);
    else
        printf("%s refused %s\n", ATTEMPTS[i].name, strerrorname_np(err) ? strerrorname_np(err) : "?");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "euid") == 0) {
        printf("%d\n", (int)geteuid());
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: escape all | ATTEMPT... | euid\n");
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (unsigned i = 0; i < N_ATTEMPTS; i++) {
            if (strcmp(argv[a], "all") == 0 || strcmp(argv[a], ATTEMPTS[i].name) == 0) {
                run(i);
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "escape: unknown attempt %s\n", argv[a]);
            return 2;
        }
    }
    return 0;
}
