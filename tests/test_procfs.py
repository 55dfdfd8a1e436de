import os
import resource
import subprocess
import sys

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


def test_fd_counts_match_the_listing_for_a_process_holding_500_files():
    child = subprocess.Popen([sys.executable, "-c", "import os, sys, time\n"
                              "fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(500)]\n"
                              "print('ready', flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert procfs.count_fds(child.pid) == len(os.listdir(f"/proc/{child.pid}/fd")) >= 500
    finally:
        child.kill()
        child.wait()
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    assert procfs.FD_DIR_SIZE_COUNTS == ((major, minor) >= (6, 2))  # the stat path is the one used
