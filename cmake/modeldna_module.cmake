# modeldna_warnings(<target>): the warnings every target of ours builds clean
# with (modules, the CLI, tests). -Wconversion without -Wsign-conversion
# (GCC's default for C++): narrowing and integer-to-floating conversions that
# may change a value must be written as casts; mixing signed and unsigned
# sizes is left to -Wall's comparisons.
# MODELDNA_WERROR (scripts/build.sh, so CI) makes any of them an error.
function(modeldna_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wconversion $<$<BOOL:${MODELDNA_WERROR}>:-Werror>)
endfunction()

# modeldna_unity(<target>): the target's files compiled a few at a time as
# one translation unit. Most of a cold build was each file parsing the same
# headers (libtorch's, CLI11's, nlohmann's) and instantiating the same
# templates; a fresh clone's test command ran past 20 minutes (BENCHMARKS.md,
# "The README's test command on a fresh clone"). Batches of
# MODELDNA_UNITY_BATCH keep both cores busy on the larger modules. A file
# with compile options of its own is left out (SKIP_UNITY_BUILD_INCLUSION).
set(MODELDNA_UNITY_BATCH 6)
function(modeldna_unity target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${MODELDNA_UNITY_BATCH})
endfunction()

# modeldna_add_module(NAME <name> SOURCES ... DEPS ...)
# One static library per concept folder (modeldna_<name>, alias modeldna::<name>);
# DEPS declare the layering rule of the README's codemap.
function(modeldna_add_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(modeldna_${M_NAME} STATIC ${M_SOURCES})
  add_library(modeldna::${M_NAME} ALIAS modeldna_${M_NAME})
  target_include_directories(modeldna_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(modeldna_${M_NAME} PUBLIC ${M_DEPS})
  modeldna_warnings(modeldna_${M_NAME})
  modeldna_unity(modeldna_${M_NAME})
endfunction()

# The modules that link libtorch (and may use modeldna_nn's precompiled header).
set(MODELDNA_TORCH_MODULES modeldna::data modeldna::nn modeldna::zoo modeldna::dna modeldna::evidence modeldna::bench)

# modeldna_add_test(NAME <name> SOURCES ... DEPS ... [LABELS ...] [NEEDS_TINY_ZOO] [NEEDS_TINY_TEXT_ZOO])
# NEEDS_TINY_ZOO / NEEDS_TINY_TEXT_ZOO: the tests run after the tiny_zoo /
# tiny_text_zoo fixture (tests/CMakeLists.txt) and find the zoo through
# $MODELDNA_TINY_ZOO / $MODELDNA_TINY_TEXT_ZOO.
function(modeldna_add_test)
  cmake_parse_arguments(T "NEEDS_TINY_ZOO;NEEDS_TINY_TEXT_ZOO" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} modeldna_test_support GTest::gtest GTest::gtest_main)
  modeldna_warnings(${T_NAME})
  # A test of a libtorch module compiles libtorch's headers once, in the
  # precompiled header the modules share, not once per file (most of a cold
  # build's time was the tests' parsing of those headers).
  foreach(dep IN LISTS T_DEPS)
    if(dep IN_LIST MODELDNA_TORCH_MODULES)
      target_precompile_headers(${T_NAME} REUSE_FROM modeldna_nn)
      # And its files as one translation unit: each file still paid about
      # 30-50 s of template instantiation for the same libtorch types
      # (BENCHMARKS.md, fresh-clone build).
      set_target_properties(${T_NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
      break()
    endif()
  endforeach()
  target_compile_definitions(${T_NAME} PRIVATE MODELDNA_CLI_PATH="$<TARGET_FILE:modeldna>"
                             MODELDNA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # OpenBLAS on one thread, as the CLI keeps it (nn/runtime.h): with its own
  # pool, a batch's logits depended on how the batch was split on 2 cores.
  set(environment "MODELDNA_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp;MODELDNA_TINY_ZOO=${MODELDNA_TINY_ZOO_DIR}")
  list(APPEND environment "OPENBLAS_NUM_THREADS=1")
  # And freed memory kept in the process, as nn::configure_runtime keeps it
  # in modeldna-lab (nn/runtime.h: page faults were a quarter of a language
  # model's forward pass).
  list(APPEND environment "MALLOC_MMAP_THRESHOLD_=33554432" "MALLOC_TRIM_THRESHOLD_=536870912")
  list(APPEND environment "MODELDNA_TINY_TEXT_ZOO=${MODELDNA_TINY_TEXT_ZOO_DIR}")
  set(needed "")
  if(T_NEEDS_TINY_ZOO)
    list(APPEND needed tiny_zoo)
  endif()
  if(T_NEEDS_TINY_TEXT_ZOO)
    list(APPEND needed tiny_text_zoo)
  endif()
  # One CTest test per binary: each process pays about a second to load
  # libtorch, so per-case discovery would multiply that by hundreds.
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --gtest_brief=1 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "${environment}")
  if(needed)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${needed}")
  endif()
endfunction()
