// Builds the worker's root filesystem. Every call names itself in its error (Firecracker's
// chroot.rs): "mount(/proc)", "pivot_root(...)".
#include "sandbox/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

Status doMount(const char* source, const std::string& target, const char* fstype,
               unsigned long flags, const std::string& data = {}) {
  if (::mount(source, target.c_str(), fstype, flags, data.empty() ? nullptr : data.c_str()) != 0)
    return sysError("mount(" + target + ")", ErrorCode::kSandboxSetup);
  return {};
}

Status mkdirAll(const std::string& path) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return sysError("mkdir(" + prefix + ")", ErrorCode::kSandboxSetup);
  }
  return {};
}

Status touchFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return sysError("create(" + path + ")", ErrorCode::kSandboxSetup);
  return {};
}

// A read-only remount of a bind inside a user namespace must keep the flags the host mount
// has locked (nosuid, nodev, noexec, atime), or the kernel refuses it with EPERM.
unsigned long lockedFlags(const std::string& source) {
  struct statvfs st {};
  if (::statvfs(source.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

Status bindReadOnly(const std::string& source, const std::string& target) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0)
    return sysError("stat(" + source + ")", ErrorCode::kSandboxSetup);
  if (S_ISDIR(st.st_mode)) {
    EXA_TRY(mkdirAll(target));
  } else {
    EXA_TRY(mkdirAll(target.substr(0, target.rfind('/'))));
    EXA_TRY(touchFile(target));
  }
  // Not MS_REC: submounts under a runtime dir are not part of the runtime.
  EXA_TRY(doMount(source.c_str(), target, nullptr, MS_BIND));
  return doMount(nullptr, target, nullptr,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | lockedFlags(source));
}

// mknod is not allowed in a user namespace, so the few devices are binds of the host's.
Status setupDev(const std::string& root) {
  std::string dev = root + "/dev";
  EXA_TRY(mkdirAll(dev));
  EXA_TRY(doMount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=32,mode=0755"));
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    std::string target = dev + "/" + node;
    EXA_TRY(touchFile(target));
    EXA_TRY(doMount((std::string("/dev/") + node).c_str(), target, nullptr, MS_BIND));
  }
  if (::symlink("/proc/self/fd", (dev + "/fd").c_str()) != 0)
    return sysError("symlink(/dev/fd)", ErrorCode::kSandboxSetup);
  return doMount(nullptr, dev, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
                 "size=64k,nr_inodes=32,mode=0755");
}

Status pivotInto(const std::string& root) {
  if (::chdir(root.c_str()) != 0) return sysError("chdir(" + root + ")", ErrorCode::kSandboxSetup);
  // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path back.
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return sysError("pivot_root(" + root + ")", ErrorCode::kSandboxSetup);
  if (::umount2(".", MNT_DETACH) != 0)
    return sysError("umount2(old root)", ErrorCode::kSandboxSetup);
  if (::chdir("/") != 0) return sysError("chdir(/)", ErrorCode::kSandboxSetup);
  return {};
}

Status writeSmallFile(const std::string& path, std::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!fd || ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return sysError("write(" + path + ")", ErrorCode::kSandboxSetup);
  return {};
}

// A synthetic /etc, never the host's: the worker's root is user "policy" with home /tmp, so
// getpass.getuser() and os.path.expanduser("~") answer at once instead of failing an NSS lookup
// (requests does two per call); name lookups go to files only (there is no DNS to ask).
Status writeEtc(const std::string& root, bool host_network) {
  EXA_TRY(mkdirAll(root + "/etc"));
  EXA_TRY(writeSmallFile(root + "/etc/passwd", "policy:x:0:0:policy:/tmp:/nonexistent\n"));
  EXA_TRY(writeSmallFile(root + "/etc/group", "policy:x:0:\n"));
  if (host_network) {
    // The host's resolver and CA certificates: a downloader must name and verify the index.
    for (const char* path : {"/etc/resolv.conf", "/etc/ssl/certs"}) {
      struct stat st {};
      if (::stat(path, &st) == 0) EXA_TRY(bindReadOnly(path, root + path));
    }
    return writeSmallFile(root + "/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
  }
  EXA_TRY(writeSmallFile(root + "/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n"));
  return writeSmallFile(root + "/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n");
}

std::string tmpfsOptions(uint64_t bytes, uint64_t inodes, const char* mode) {
  return "size=" + std::to_string(bytes) + ",nr_inodes=" + std::to_string(inodes) + ",mode=" + mode;
}

constexpr unsigned long kTmpFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
constexpr unsigned long kPolicyFlags = MS_NOSUID | MS_NODEV;

}  // namespace

Status prepareMounts(const JailSpec& spec) {
  // Private propagation first: nothing we mount may leak back to the host namespace.
  EXA_TRY(doMount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE));
  const std::string& root = spec.root_mountpoint;
  const std::string root_opts = tmpfsOptions(1u << 20, 4096, "0755");
  EXA_TRY(doMount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, root_opts));
  for (const auto& path : spec.runtime_paths) EXA_TRY(bindReadOnly(path, root + path));
  EXA_TRY(writeEtc(root, spec.host_network));
  // /policy: its own tmpfs, filled at handoff. The code is copied rather than bound: a bind
  // would show its host path in /proc/self/mountinfo, and a copy cannot change under a worker.
  EXA_TRY(mkdirAll(root + kPolicyDirInJail));
  EXA_TRY(doMount("tmpfs", root + kPolicyDirInJail, "tmpfs", kPolicyFlags,
                  tmpfsOptions(spec.code_max_bytes, spec.code_max_files + 16, "0755")));
  EXA_TRY(setupDev(root));
  // Fresh /proc of the new pid namespace: only the worker's own processes are visible.
  EXA_TRY(mkdirAll(root + "/proc"));
  EXA_TRY(doMount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  // /tmp: the only writable place; noexec, capped in bytes and inodes at handoff. Its pages
  // are charged to the worker's memory cgroup.
  EXA_TRY(mkdirAll(root + "/tmp"));
  EXA_TRY(doMount("tmpfs", root + "/tmp", "tmpfs", kTmpFlags, tmpfsOptions(1u << 20, 64, "1777")));
  EXA_TRY(pivotInto(root));
  // The root itself is read-only once populated: writes outside /tmp fail with EROFS.
  return doMount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, root_opts);
}

Status finalizeMounts(const CodeTree& code, const JailLimits& limits) {
  EXA_TRY(writeCodeTree(code, kPolicyDirInJail));
  EXA_TRY(doMount(nullptr, kPolicyDirInJail, nullptr, MS_REMOUNT | MS_RDONLY | kPolicyFlags));
  return doMount(nullptr, "/tmp", nullptr, MS_REMOUNT | kTmpFlags,
                 tmpfsOptions(limits.tmp_bytes, limits.tmp_inodes, "1777"));
}

}  // namespace exa::sandbox
