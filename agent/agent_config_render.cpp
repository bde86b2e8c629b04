// renderConfig/renderDefaultConfig: configKeys() as a commented TOML file. The packaged
// packaging/executor-agent.toml is renderDefaultConfig()'s output, checked byte for byte by a test.
#include "agent/agent_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace exa::agent {
namespace {

std::string tomlString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string tomlKey(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : tomlString(k);
}

/// Inline TOML; nulls are left out (TOML has none).
std::string render(const Json& value) {
  if (value.is_string()) return tomlString(value.get_ref<const std::string&>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  }
  if (value.is_number()) return value.dump();
  bool object = value.is_object();
  std::string out;
  for (const auto& [k, v] : value.items()) {
    if (v.is_null()) continue;
    out += (out.empty() ? "" : ", ") + (object ? tomlKey(k) + " = " : "") + render(v);
  }
  if (object) return out.empty() ? "{}" : "{ " + out + " }";
  return "[" + out + "]";
}

std::string render(const std::string* s) { return tomlString(*s); }
std::string render(const uint64_t* n) { return std::to_string(*n); }
std::string render(const bool* b) { return *b ? "true" : "false"; }
std::string render(const Json* j) { return render(*j); }
std::string render(const std::vector<std::string>* items) { return render(Json(*items)); }

void appendComment(std::string& out, std::string_view text) {
  while (!text.empty()) {
    size_t newline = std::min(text.find('\n'), text.size());
    out += "# " + std::string(text.substr(0, newline)) + "\n";
    text.remove_prefix(std::min(newline + 1, text.size()));
  }
}

constexpr std::string_view kHeader =
    "executor-agent configuration: /etc/executor-agent/executor-agent.toml, or\n"
    "`executor-agent serve --config PATH`. Every key is listed with its default.\n"
    "Precedence: defaults < this file < EXECUTOR_AGENT_* environment variables < flags.\n"
    "Unknown keys are errors, so a misspelt key cannot pass silently.\n"
    "Regenerate with `executor-agent config --print-default`; see docs/configuration.md.";

}  // namespace

std::string renderConfig(const AgentConfig& config) {
  AgentConfig copy = config;  // ConfigKey::field hands out non-const pointers
  std::string out;
  appendComment(out, kHeader);
  for (const ConfigSection& section : configSections()) {
    out += "\n";
    appendComment(out, section.doc);
    out += "[" + std::string(section.name) + "]\n";
    for (const ConfigKey& key : configKeys()) {
      if (key.section() != section.name) continue;
      out += "\n";
      appendComment(out, key.doc);
      appendComment(out, "Environment: " + key.envName());
      out += std::string(key.key()) + " = " +
             std::visit([](const auto* field) { return render(field); }, key.field(copy)) + "\n";
    }
  }
  return out;
}

std::string renderDefaultConfig() { return renderConfig(AgentConfig{}); }

}  // namespace exa::agent
