# exa_add_library(name SRCS ... DEPS ...): one static library per folder, includes rooted at the repo.
function(exa_add_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# exa_add_test(name SRCS ... DEPS ... LABELS ...): one gtest binary, its tests discovered by ctest.
function(exa_add_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    EXA_AGENT_BINARY="$<TARGET_FILE:executor-agent>"
    EXA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(${name} executor-agent)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
