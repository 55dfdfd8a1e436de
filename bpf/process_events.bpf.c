/* otel-linnix process events: fork / exec / exit from scheduler tracepoints.
 *
 * The running kernel's struct layouts differ from any installed headers, so every task_struct
 * field is read at an offset resolved from /sys/kernel/btf/vmlinux at load time and passed in
 * as a -D constant (OFF_TASK_PID, ...). A lifetime's fork facts wait in `lifetimes` (keyed by
 * tgid) and go out with its exit: one complete record per process. Threads only bump a counter.
 */
#include <uapi/linux/ptrace.h>
#include "process_events.h"

struct lifetime {
    u64 start_ns;
    u64 parent_start_ns;
    u64 cgroup_id;
    u32 ppid;
    u32 threads;
    u32 execs;
    u32 pid;  /* as reported: the host's tgid, or the agent's pid namespace's (PIDNS_INUM) */
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
/* Takes what `events` refuses. A reservation can fail with `events` nearly empty: on kernel
 * 6.18 with 2 busy vCPUs a few records per 100k were refused with the buffer under 5 % full, a
 * second try on the same ring failed too (6 of 7), and the other ring took every one. The likely
 * cause: recent kernels guard a ring buffer with a resilient spinlock, which gives up (timeout,
 * suspected deadlock) rather than spin on. It also holds a burst that overflows `events`. User
 * space reads it right after `events`. */
BPF_RINGBUF_OUTPUT(rescue, RESCUE_PAGES);
BPF_HASH(lifetimes, u32, struct lifetime, MAX_LIFETIMES);
BPF_PERCPU_ARRAY(lost, u64, LOST_SLOTS);
BPF_PERCPU_ARRAY(exec_scratch, struct exec_event, 1);
/* OOM victims chosen and not yet exited: their exit record says so. */
BPF_HASH(oom_victims, u32, u8, 1024);

#define READ_FIELD(dst, base, off) bpf_probe_read_kernel(&(dst), sizeof(dst), (char *)(base) + (off))

/* The agent sleeps between drains (poll_interval) and is woken for the first record after one
 * (the ring buffer's own rule). Besides that, every WAKE_BYTES written wake it, so a burst is
 * drained before it overflows without the agent waking to look: it drains when it finds the
 * ring at least half that full, so at most 1.5 x WAKE_BYTES wait. (bcc 0.26 cannot call
 * bpf_ringbuf_query, which would tell the fill here.) */
BPF_ARRAY(written, u64, 1);

static __always_inline u64 wake_flags(u64 size) {
    u32 zero = 0;
    u64 *total = written.lookup(&zero);
    if (!total)
        return 0;
    u64 before = __sync_fetch_and_add(total, size);
    return (before + size) / WAKE_BYTES != before / WAKE_BYTES ? BPF_RB_FORCE_WAKEUP : 0;
}

static __always_inline void count_lost(u32 slot) {
    u64 *value = lost.lookup(&slot);
    if (value)
        (*value)++;
}

/* Space for a record of a constant ``size`` in `events`, else in `rescue`; NULL (counted) if
 * neither has it. */
static __always_inline void *reserve(u32 size) {
    void *e = events.ringbuf_reserve(size);
    if (e)
        return e;
    e = rescue.ringbuf_reserve(size);
    count_lost(e ? RESCUED : LOST_RINGBUF);
    return e;
}

static __always_inline u64 task_start(void *task) {
    u64 ns = 0;
    READ_FIELD(ns, task, OFF_TASK_START_BOOTTIME);
    return ns;
}

static __always_inline u32 task_tgid(void *task) {
    u32 tgid = 0;
    READ_FIELD(tgid, task, OFF_TASK_TGID);
    return tgid;
}

static __always_inline void *task_parent(void *task) {
    void *parent = 0;
    READ_FIELD(parent, task, OFF_TASK_REAL_PARENT);
    return parent;
}

#ifdef PIDNS_INUM
/* The agent runs in a pid namespace of its own (a sidecar with --pid=container:NAME or
 * shareProcessNamespace): pids are reported as that namespace numbers them, the numbers its
 * /proc shows, and processes outside it are not reported at all (0). The namespace's level is
 * found by its inode among the levels of the task's struct pid. */
#define UPID_SIZE 16 /* struct upid { int nr; struct pid_namespace *ns; } */
#define PIDNS_MAX_LEVEL 8
static __always_inline u32 ns_tgid(void *task) {
    void *leader = 0, *pid = 0;
    READ_FIELD(leader, task, OFF_TASK_GROUP_LEADER);
    READ_FIELD(pid, leader ? leader : task, OFF_TASK_THREAD_PID);
    if (!pid)
        return 0;
    u32 level = 0;
    READ_FIELD(level, pid, OFF_PID_LEVEL);
    for (u32 i = 1; i < PIDNS_MAX_LEVEL; i++) {
        if (i > level)
            break;
        char *upid = (char *)pid + OFF_PID_NUMBERS + i * UPID_SIZE;
        void *ns = 0;
        u32 inum = 0;
        READ_FIELD(ns, upid, OFF_UPID_NS);
        if (!ns)
            continue;
        READ_FIELD(inum, ns, OFF_PIDNS_NS + OFF_NS_COMMON_INUM);
        if (inum == PIDNS_INUM) {
            int nr = 0;
            READ_FIELD(nr, upid, OFF_UPID_NR);
            return nr;
        }
    }
    return 0;
}
#define REPORTED_TGID(task, host_tgid) ns_tgid(task)
#else
#define REPORTED_TGID(task, host_tgid) (host_tgid)
#endif

static __always_inline void task_ids(void *task, u32 *uid, u32 *gid) {
    void *cred = 0;
    READ_FIELD(cred, task, OFF_TASK_CRED);
    if (cred) {
        READ_FIELD(*uid, cred, OFF_CRED_UID);
        READ_FIELD(*gid, cred, OFF_CRED_GID);
    }
}

RAW_TRACEPOINT_PROBE(sched_process_fork) {
    void *child = (void *)ctx->args[1];
    u32 pid = 0, tgid = task_tgid(child);
    READ_FIELD(pid, child, OFF_TASK_PID);
    if (pid != tgid) { /* a new thread of an existing process */
        struct lifetime *lt = lifetimes.lookup(&tgid);
        if (lt)
            __sync_fetch_and_add(&lt->threads, 1);
        return 0;
    }
    u32 reported = REPORTED_TGID(child, tgid);
    if (!reported)
        return 0; /* outside the agent's pid namespace */
    void *parent = task_parent(child);
    struct lifetime lt = {};
    lt.start_ns = task_start(child);
    lt.parent_start_ns = task_start(parent);
    lt.ppid = REPORTED_TGID(parent, task_tgid(parent));
    lt.pid = reported;
    lt.cgroup_id = bpf_get_current_cgroup_id();
    /* update, not insert: an entry left by a process whose exit came before the exit program
     * was attached must not block the pid's next lifetime. Fails only when the map is full. */
    if (lifetimes.update(&tgid, &lt) != 0)
        count_lost(LOST_LIFETIME);

    struct fork_event *e = reserve(sizeof(struct fork_event));
    if (!e)
        return 0;
    e->type = EVENT_FORK;
    e->pid = reported;
    e->ppid = lt.ppid;
    e->uid = 0;
    e->gid = 0;
    e->pad = 0;
    task_ids(child, &e->uid, &e->gid);
    e->start_ns = lt.start_ns;
    e->parent_start_ns = lt.parent_start_ns;
    e->cgroup_id = lt.cgroup_id;
    /* All 16 bytes, not up to the NUL: the kernel keeps task->comm NUL-padded (strscpy_pad),
     * while a _str read would leave what an earlier record left in this reserved slot after
     * it. Equal names must be equal bytes: the agent caches names by their bytes and folds a
     * brief lifetime's fork into its exit only when their fields match. */
    bpf_probe_read_kernel(e->comm, sizeof(e->comm), (char *)child + OFF_TASK_COMM);
    events.ringbuf_submit(e, wake_flags(sizeof(*e)));
    return 0;
}

#ifndef TRACEPARENT_SCAN
#define TRACEPARENT_SCAN 1
#endif
#define ENV_SCAN_MAX 256  /* environment entries looked at, at most */
#define ENV_PTR_CHUNK 32  /* envp pointers read at once (power of two) */
#define ENV_BUF 8192      /* environment bytes read at once (power of two) */

/* "TRACEPARENT=" and "TRACESTATE=" as little-endian words, to compare a key in two loads. */
#define KEY_TRACEPAR 0x5241504543415254ULL /* "TRACEPAR" */
#define KEY_ENT_EQ 0x3d544e45U             /* "ENT=" */
#define KEY_TRACESTA 0x4154534543415254ULL /* "TRACESTA" */
#define KEY_TE_EQ 0x3d4554U                /* "TE=" (3 bytes) */

/* The environment's pointers and strings, copied in a few reads per exec. Reading each
 * entry's pointer and key apart (two reads of user memory, ~80 ns each) made the scan 6 of an
 * exec's 7.3 µs with a 39-entry environment; with these bulk reads the whole exec program takes
 * ~1.8 µs (an exec storm under the probes alone: 4.6 % slower before, 1.1 % after). */
struct env_scratch {
    u64 env_start;  /* the strings' address; copied of them are in `strings` */
    u64 copied;
    u64 ptrs[ENV_PTR_CHUNK];
    char strings[ENV_BUF + 16]; /* + 16: a key read at any offset below ENV_BUF stays inside */
};
BPF_PERCPU_ARRAY(env_scratch, struct env_scratch, 1);
/* Zeros to wipe the copied strings with once the scan is done: the environment holds secrets,
 * and none of it should stay in a map that root could dump. */
struct env_zeros {
    char bytes[ENV_BUF];
};
BPF_ARRAY(env_zeros, struct env_zeros, 1);

/* The first 12 bytes of the entry at ``entry``: from the copied strings when it lies in them
 * (every entry does unless the environment is larger than ENV_BUF), else read from the task.
 * The bounds are loaded from the scratch on each call, not carried in registers: the verifier
 * then sees one state per loop step instead of one per range of them it could tell apart,
 * which went past its million-instruction limit. */
static __always_inline int env_key(struct env_scratch *w, u64 entry, u64 *head, u32 *tail) {
    u64 env_start = *(volatile u64 *)&w->env_start;
    u64 copied = *(volatile u64 *)&w->copied;
    u64 off = entry - env_start;
    if (entry >= env_start && off + 12 <= copied) {
        off &= ENV_BUF - 1; /* a no-op here (copied <= ENV_BUF); it bounds the load for the verifier */
        *head = *(u64 *)(w->strings + off);
        *tail = *(u32 *)(w->strings + off + 8);
        return 0;
    }
    struct { u64 head; u32 tail; } key = {};
    if (bpf_probe_read_user(&key, 12, (void *)entry) != 0)
        return -1;
    *head = key.head;
    *tail = key.tail;
    return 0;
}

/* W3C trace context carried through the environment (the OpenTelemetry convention for a
 * parent handing its span to a child process). At this tracepoint the new image's stack is
 * built: argc at mm->start_stack, then argv pointers, NULL, envp pointers, NULL, and the
 * environment's strings lie between mm->env_start and env_end. Keys are compared in the
 * per-CPU scratch; only the two values are copied into the record. Whether a value was found
 * is read back from the record (not kept in a register) for the same reason as in env_key.
 * (bcc cannot pass a callback to bpf_loop, which would spare the verifier the loop.) */
static __always_inline void trace_env(struct exec_event *s, void *mm) {
    s->traceparent[0] = 0;
    s->tracestate[0] = 0;
#if TRACEPARENT_SCAN
    u32 zero = 0;
    struct env_scratch *w = env_scratch.lookup(&zero);
    if (!w)
        return;
    u64 stack = 0, argc = 0, env_end = 0;
    w->env_start = 0;
    READ_FIELD(stack, mm, OFF_MM_START_STACK);
    READ_FIELD(w->env_start, mm, OFF_MM_ENV_START);
    READ_FIELD(env_end, mm, OFF_MM_ENV_END);
    if (!stack || bpf_probe_read_user(&argc, sizeof(argc), (void *)stack) != 0 || argc > 65536)
        return;
    u64 copied = env_end > w->env_start ? env_end - w->env_start : 0;
    if (copied > ENV_BUF)
        copied = ENV_BUF;
    if (copied > 0 && copied <= ENV_BUF &&
        bpf_probe_read_user(w->strings, copied, (void *)w->env_start) != 0)
        copied = 0;
    w->copied = copied;
    u64 envp = stack + 8 * (argc + 2);
    for (int i = 0; i < ENV_SCAN_MAX; i++) {
        u32 slot = i & (ENV_PTR_CHUNK - 1);
        /* A chunk read past the array's NULL stays in the stack: the auxiliary vector and
         * the strings follow it. */
        if (slot == 0 &&
            bpf_probe_read_user(w->ptrs, sizeof(w->ptrs), (void *)(envp + 8 * i)) != 0)
            break;
        u64 entry = w->ptrs[slot];
        if (!entry)
            break;
        u64 head = 0;
        u32 tail = 0;
        if (env_key(w, entry, &head, &tail) != 0)
            continue;
        char *have_parent = (char *)s->traceparent, *have_state = (char *)s->tracestate;
        if (head == KEY_TRACEPAR && tail == KEY_ENT_EQ && !*(volatile char *)have_parent)
            bpf_probe_read_user_str(s->traceparent, sizeof(s->traceparent), (void *)(entry + 12));
        else if (head == KEY_TRACESTA && (tail & 0xFFFFFF) == KEY_TE_EQ &&
                 !*(volatile char *)have_state)
            bpf_probe_read_user_str(s->tracestate, sizeof(s->tracestate), (void *)(entry + 11));
        if (*(volatile char *)have_parent && *(volatile char *)have_state)
            break;
    }
    struct env_zeros *none = env_zeros.lookup(&zero);
    copied = *(volatile u64 *)&w->copied;
    if (none && copied > 0 && copied <= ENV_BUF)
        bpf_probe_read_kernel(w->strings, copied, none->bytes);
#endif
}

TRACEPOINT_PROBE(sched, sched_process_exec) {
    void *task = (void *)bpf_get_current_task();
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct lifetime *lt = lifetimes.lookup(&tgid);
    if (lt)
        __sync_fetch_and_add(&lt->execs, 1);
    u32 reported = lt ? lt->pid : REPORTED_TGID(task, tgid);
    if (!reported)
        return 0;

    u32 zero = 0;
    struct exec_event *s = exec_scratch.lookup(&zero);
    if (!s)
        return 0;
    s->type = EVENT_EXEC;
    s->pid = reported;
    s->ts_ns = bpf_ktime_get_boot_ns();
    s->start_ns = task_start(task);
    u32 uid = 0, gid = 0;
    task_ids(task, &uid, &gid);
    s->uid = uid;
    s->pad = 0;
    bpf_get_current_comm(s->comm, sizeof(s->comm));
    u16 off = args->data_loc_filename & 0xFFFF;
    bpf_probe_read_kernel_str(s->filename, sizeof(s->filename), (char *)args + off);

    void *mm = 0;
    u64 arg_start = 0, arg_end = 0;
    READ_FIELD(mm, task, OFF_TASK_MM);
    s->traceparent[0] = 0;
    s->tracestate[0] = 0;
    if (mm) {
        READ_FIELD(arg_start, mm, OFF_MM_ARG_START);
        READ_FIELD(arg_end, mm, OFF_MM_ARG_END);
        trace_env(s, mm);
    }
    u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
    s->args_truncated = len > ARGS_LEN;
    if (len > ARGS_LEN)
        len = ARGS_LEN;
    if (len > 0 && len <= ARGS_LEN && bpf_probe_read_user(s->args, len, (void *)arg_start) != 0)
        len = 0;
    s->args_len = len;
    /* Only the argv bytes in use go out: most command lines are far shorter than ARGS_LEN,
     * and copying the whole 4 KiB per exec was most of an exec's ring-buffer traffic. */
    u64 size = offsetof(struct exec_event, args) + len;
    if (size > sizeof(*s))
        size = sizeof(*s);
    if (events.ringbuf_output(s, size, wake_flags(size)) != 0)
        count_lost(rescue.ringbuf_output(s, size, 0) == 0 ? RESCUED : LOST_RINGBUF);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    if (!args->group_dead)
        return 0;
    void *task = (void *)bpf_get_current_task();
    void *leader = 0;
    READ_FIELD(leader, task, OFF_TASK_GROUP_LEADER);
    if (!leader)
        leader = task;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct lifetime *lt = lifetimes.lookup(&tgid);
    u32 reported = lt ? lt->pid : REPORTED_TGID(leader, tgid);
    if (!reported) {
        lifetimes.delete(&tgid);
        return 0;
    }

    struct exit_event *e = reserve(sizeof(struct exit_event));
    if (!e) {
        lifetimes.delete(&tgid);
        return 0;
    }
    e->type = EVENT_EXIT;
    e->pid = reported;
    e->exit_ns = bpf_ktime_get_boot_ns();
    e->exit_code = 0;
    READ_FIELD(e->exit_code, task, OFF_TASK_EXIT_CODE);
    e->uid = 0;
    e->gid = 0;
    task_ids(leader, &e->uid, &e->gid);
    e->utime_ns = 0;
    e->stime_ns = 0;
    READ_FIELD(e->utime_ns, leader, OFF_TASK_UTIME);
    READ_FIELD(e->stime_ns, leader, OFF_TASK_STIME);
    e->oom_killed = oom_victims.lookup(&tgid) != 0;
    if (e->oom_killed)
        oom_victims.delete(&tgid);
    bpf_probe_read_kernel(e->comm, sizeof(e->comm), (char *)leader + OFF_TASK_COMM);  /* padded too */

    if (lt) {
        e->fork_seen = 1;
        e->ppid = lt->ppid;
        e->start_ns = lt->start_ns;
        e->parent_start_ns = lt->parent_start_ns;
        e->cgroup_id = lt->cgroup_id;
        e->threads = lt->threads;
        e->execs = lt->execs;
    } else { /* started before the agent: what the task says now */
        void *parent = task_parent(leader);
        e->fork_seen = 0;
        e->ppid = REPORTED_TGID(parent, task_tgid(parent));
        e->start_ns = task_start(leader);
        e->parent_start_ns = task_start(parent);
        e->cgroup_id = bpf_get_current_cgroup_id();
        e->threads = 0;
        e->execs = 0;
    }
    events.ringbuf_submit(e, wake_flags(sizeof(*e)));
    lifetimes.delete(&tgid);
    return 0;
}

/* PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE: anything this large is "no limit". */
#define NO_LIMIT_PAGES (1ULL << 50)

/* The task's memory cgroup: the lowest limit up its hierarchy (and the level that sets it),
 * and the names of its directories, leaf first. Read here because the cgroup may be gone by
 * the time user space looks (a confined job's runner removes it as soon as the victim dies). */
static __always_inline void memcg_of(void *task, struct oom_event *e) {
    e->limit_pages = 0;
    e->limit_level = 0;
    e->memcg_levels = 0;
#if MEMORY_CGRP_ID >= 0
    void *cset = 0, *css = 0, *cgrp = 0, *kn = 0;
    READ_FIELD(cset, task, OFF_TASK_CGROUPS);
    if (!cset)
        return;
    bpf_probe_read_kernel(&css, sizeof(css), (char *)cset + OFF_CSS_SET_SUBSYS + 8 * MEMORY_CGRP_ID);
    if (!css)
        return;
    void *counter = (char *)css + OFF_MEMCG_MEMORY; /* css is mem_cgroup's first member */
    for (int i = 0; i < MEMCG_DEPTH && counter; i++) {
        u64 max = 0;
        READ_FIELD(max, counter, OFF_PAGE_COUNTER_MAX);
        if (max < NO_LIMIT_PAGES && (!e->limit_pages || max < e->limit_pages)) {
            e->limit_pages = max;
            e->limit_level = i;
        }
        void *parent = 0;
        READ_FIELD(parent, counter, OFF_PAGE_COUNTER_PARENT);
        counter = parent;
    }
    READ_FIELD(cgrp, css, OFF_CSS_CGROUP);
    if (cgrp)
        READ_FIELD(kn, cgrp, OFF_CGROUP_KN);
    for (int i = 0; i < MEMCG_DEPTH && kn; i++) {
        void *parent = 0;
        READ_FIELD(parent, kn, OFF_KERNFS_NODE_PARENT);
        if (!parent) /* the hierarchy's root: not part of the path */
            return;
        char *name = 0;
        READ_FIELD(name, kn, OFF_KERNFS_NODE_NAME);
        if (name)
            bpf_probe_read_kernel_str(e->memcg[i], MEMCG_NAME_LEN, name);
        e->memcg_levels = i + 1;
        kn = parent;
    }
    if (kn) {
        void *parent = 0;
        READ_FIELD(parent, kn, OFF_KERNFS_NODE_PARENT);
        if (parent)
            e->memcg_levels |= 0x100;
    }
#endif
}

/* The OOM killer picks processes (thread-group leaders) for a memory cgroup or the host; the
 * pid it reports is the leader's unless the leader has exited before its threads. It runs in
 * the context of the task whose memory charge failed: for a cgroup OOM, that task's memory
 * cgroup is the one that ran out (or below it), where the victim was chosen. */
TRACEPOINT_PROBE(oom, mark_victim) {
    u32 pid = args->pid;
    u8 one = 1;
    oom_victims.update(&pid, &one);
    struct lifetime *lt = lifetimes.lookup(&pid);
#ifdef PIDNS_INUM
    if (!lt) /* a victim whose fork was not seen: not one the agent's namespace can name */
        return 0;
#endif
    struct oom_event *e = reserve(sizeof(struct oom_event));
    if (!e)
        return 0;
    e->type = EVENT_OOM;
    e->pid = lt ? lt->pid : pid;
    e->uid = args->uid;
    e->oom_score_adj = args->oom_score_adj;
    e->ts_ns = bpf_ktime_get_boot_ns();
    e->start_ns = lt ? lt->start_ns : 0;
    e->total_vm_kb = args->total_vm;
    e->anon_rss_kb = args->anon_rss;
    e->file_rss_kb = args->file_rss;
    e->shmem_rss_kb = args->shmem_rss;
    e->pgtables_kb = args->pgtables;
    memcg_of((void *)bpf_get_current_task(), e);
    u16 off = args->data_loc_comm & 0xFFFF;
    bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), (char *)args + off);
    events.ringbuf_submit(e, wake_flags(sizeof(*e)));
    return 0;
}
