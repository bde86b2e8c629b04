// MongoRegex: a filter's $regex, compiled once with PCRE2 and MongoDB's $options and searched
// under match, depth and heap limits, so a catastrophic pattern from a client becomes an error
// instead of a stuck HTTP thread. Kept apart so pcre2.h and its limits stay out of the matcher.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"

namespace exa::agent {

class MongoRegex {
 public:
  /// Compiles `pattern` as MongoDB does: always UTF, `options` from i m s x (u accepted, UTF is
  /// on anyway). `where` ("tags.$regex") prefixes every error, compile- and match-time.
  static Result<MongoRegex> compile(const std::string& pattern, const std::string& options,
                                    const std::string& where);

  MongoRegex(MongoRegex&&) noexcept;
  MongoRegex& operator=(MongoRegex&&) noexcept;
  ~MongoRegex();

  /// Whether the pattern matches anywhere in `subject`; safe from several threads at once.
  /// Hitting a match limit is a kInvalidArgument error asking the client to simplify it.
  Result<bool> search(const std::string& subject) const;

 private:
  struct Compiled;  // the PCRE2 objects; defined in the .cpp so this header needs no pcre2.h
  explicit MongoRegex(std::unique_ptr<Compiled> compiled);

  std::unique_ptr<Compiled> compiled_;
};

}  // namespace exa::agent
