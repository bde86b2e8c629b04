// Reading a code tree into memory and writing it back out inside the jail.
#include "sandbox/code_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

struct Budget {
  uint64_t bytes_left;
  uint32_t entries_left;
};

Result<std::string> readFile(int dir_fd, const std::string& name, const std::string& path,
                             Budget& budget) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return sysError("open(" + path + ")", ErrorCode::kInvalidArgument);
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return sysError("read(" + path + ")", ErrorCode::kInvalidArgument);
    if (n == 0) return content;
    if (static_cast<uint64_t>(n) > budget.bytes_left)
      return makeError(ErrorCode::kResourceExhausted, "policy code exceeds its size cap");
    budget.bytes_left -= n;
    content.append(buf, n);
  }
}

Status readDir(int dir_fd, const std::string& prefix, const std::string& host_dir, CodeTree& tree,
               Budget& budget) {
  UniqueFd listing(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  DIR* dir = ::fdopendir(listing.get());
  if (dir == nullptr) return sysError("opendir(" + host_dir + ")", ErrorCode::kInvalidArgument);
  listing.release();  // now owned by `dir`
  Status status;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (budget.entries_left-- == 0) {
      status = makeError(ErrorCode::kResourceExhausted, "policy code has too many entries");
      break;
    }
    std::string relative = prefix.empty() ? name : prefix + "/" + name;
    std::string host_path = host_dir + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode)) {
      auto content = readFile(dir_fd, name, host_path, budget);
      if (!content) {
        status = std::move(content).error();
        break;
      }
      tree.entries.push_back({relative, false, std::move(content).value()});
    } else if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) {
        status = sysError("open(" + host_path + ")", ErrorCode::kInvalidArgument);
        break;
      }
      tree.entries.push_back({relative, true, {}});
      status = readDir(sub.get(), relative, host_path, tree, budget);
      if (!status) break;
    }
  }
  ::closedir(dir);
  return status;
}

}  // namespace

Result<CodeTree> readCodeTree(const std::string& dir, uint64_t max_bytes, uint32_t max_entries) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sysError("open(" + dir + ")", ErrorCode::kInvalidArgument);
  CodeTree tree;
  Budget budget{max_bytes, max_entries};
  EXA_TRY(readDir(root.get(), "", dir, tree, budget));
  return tree;
}

Status writeCodeTree(const CodeTree& tree, const std::string& target) {
  for (const auto& entry : tree.entries) {
    std::string path = target + "/" + entry.path;
    if (entry.is_dir) {
      if (::mkdir(path.c_str(), 0755) != 0)
        return sysError("mkdir(/policy/" + entry.path + ")", ErrorCode::kSandboxSetup);
      continue;
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!fd) return sysError("create(/policy/" + entry.path + ")", ErrorCode::kSandboxSetup);
    size_t done = 0;
    while (done < entry.content.size()) {
      ssize_t n = ::write(fd.get(), entry.content.data() + done, entry.content.size() - done);
      if (n <= 0) return sysError("write(/policy/" + entry.path + ")", ErrorCode::kSandboxSetup);
      done += n;
    }
  }
  return {};
}

}  // namespace exa::sandbox
