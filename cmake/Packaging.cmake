# The Debian package (CPack DEB): `cmake --build build && cd build && cpack -G DEB`.
# What lands where, and why the unit is hardened as it is: docs/packaging.md.
# Included last by the top-level CMakeLists.txt: CPack packs every install() rule declared before.

# The binary's own rule lives with its target (agent/CMakeLists.txt: bin/executor-agent);
# relative destinations land under CPACK_PACKAGING_INSTALL_PREFIX (/usr) in the package.

# systemd's vendor unit directory (/usr/lib/systemd/system; Debian 12 merges /lib into /usr, so
# it is also /lib/systemd/system).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/executor-agent.service
        DESTINATION lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The configuration, every key at its default (packaging/executor-agent.toml is
# `executor-agent config --print-default`). Absolute: /etc does not follow the /usr prefix.
# A conffile (packaging/debian/conffiles): dpkg keeps the operator's edits on upgrade and
# removes it only on purge. 0640: it may be given auth.token / registry.central_token, and only
# root (the agent) reads it.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/executor-agent.toml
        DESTINATION /etc/executor-agent
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

# The unit's Documentation= points here.
install(FILES ${PROJECT_SOURCE_DIR}/docs/packaging.md ${PROJECT_SOURCE_DIR}/docs/configuration.md
        DESTINATION share/doc/executor-agent
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME executor-agent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "executor-agent maintainers")
set(CPACK_PACKAGE_CONTACT
    "executor-agent maintainers <maintainers@users.noreply.r-seed-0896444c.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sandboxed executor for untrusted Python policies")
# The Debian extended description: CPack indents each line (lines under 80 columns, as Debian
# policy asks).
set(CPACK_PACKAGE_DESCRIPTION
    "A per-machine daemon with an HTTP API that runs untrusted Python policies.\n\
Each call runs in a worker jailed in its own user, pid, mount, net, ipc, uts\n\
and cgroup namespaces, with a fresh minimal root, no network, no\n\
capabilities, cgroup and rlimit limits, a seccomp allowlist and a deadline.\n\
Workers embed Debian's Python 3.11. Runs as the hardened systemd service\n\
executor-agent.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# RelWithDebInfo builds carry ~100 MB of DWARF; the package ships the stripped binary.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # executor-agent_<version>_<arch>.deb
# Depends = the shared libraries dpkg-shlibdeps (dpkg-dev) finds in the binary, plus what it
# cannot see: the jail binds Debian's python3.11 runtime (stdlib and dist-packages) into every
# worker and pre-imports requests in the zygote.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3 (>= 3.11), python3-requests")
# Plain maintainer scripts (no debhelper) and the conffiles list, installed 0755/0644 whatever
# the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
