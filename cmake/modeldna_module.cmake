# modeldna_add_module(NAME <name> SOURCES ... DEPS ...)
# One static library per concept folder (modeldna_<name>, alias modeldna::<name>);
# DEPS declare the layering rule of the README's codemap.
function(modeldna_add_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(modeldna_${M_NAME} STATIC ${M_SOURCES})
  add_library(modeldna::${M_NAME} ALIAS modeldna_${M_NAME})
  target_include_directories(modeldna_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(modeldna_${M_NAME} PUBLIC ${M_DEPS})
  target_compile_options(modeldna_${M_NAME} PRIVATE -Wall -Wextra)
endfunction()

# modeldna_add_test(NAME <name> SOURCES ... DEPS ... [LABELS ...])
function(modeldna_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} modeldna_test_support GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${T_NAME}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "MODELDNA_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp"
    DISCOVERY_TIMEOUT 60)
endfunction()
