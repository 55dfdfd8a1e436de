import os
import resource

from otel_linnix import procfs


def test_own_process_reads_match_the_os():
    stat = procfs.read_stat(os.getpid())
    assert stat.ppid == os.getppid() and stat.threads >= 1
    assert procfs.read_ids(os.getpid()) == (os.getuid(), os.getgid())
    assert procfs.fd_soft_limit(os.getpid()) == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert abs(procfs.count_fds(os.getpid()) - len(os.listdir("/proc/self/fd"))) <= 1
    assert procfs.read_exe(os.getpid()).startswith("/")


def test_gone_process_reads_none():
    assert procfs.read_stat(2**22 + 1) is None
    assert procfs.count_fds(2**22 + 1) is None
    assert procfs.read_cmdline(2**22 + 1) is None
