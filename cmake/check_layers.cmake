# Fails when a file includes a folder its layer may not use (docs/architecture.md).
#
#   cmake -DROOT=<source dir> -DRULES="<folder>:<allowed,...>;..." -DSTAMP=<file> -P check_layers.cmake
#
# RULES comes from the CMake targets themselves (spanstore_layer's DEPENDS, and the tools'
# rules in the top-level CMakeLists.txt), so the build graph and this check cannot disagree.
# For each rule, every .h/.cc under <folder> may include "<folder>/...", "spanstore/..." (the
# public API), the allowed folders, and anything outside the project (absl/..., re2/..., ...).
# A quoted include whose first path component is another project folder is a violation.

cmake_policy(VERSION 3.20)

set(project_folders util index format compaction engine query formats workload tools tests
    benchmarks fuzz include)
set(violations "")
foreach(rule IN LISTS RULES)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 folder)
  set(allowed "${folder}" spanstore)
  list(LENGTH parts n)
  if(n GREATER 1)
    list(GET parts 1 deps)
    string(REPLACE "," ";" deps "${deps}")
    list(APPEND allowed ${deps})
  endif()
  file(GLOB_RECURSE files "${ROOT}/${folder}/*.h" "${ROOT}/${folder}/*.cc")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"[^\"]+\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" path "${line}")
      string(REGEX REPLACE "/.*" "" top "${path}")
      if(top STREQUAL path)
        continue()  # no folder: a system or same-folder-relative header
      endif()
      list(FIND project_folders "${top}" is_project)
      list(FIND allowed "${top}" is_allowed)
      if(is_project GREATER -1 AND is_allowed EQUAL -1)
        file(RELATIVE_PATH rel "${ROOT}" "${file}")
        string(APPEND violations "  ${rel} includes \"${path}\": ${folder}/ may include only "
               "${allowed} (and libraries outside the project)\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "Layering violations (docs/architecture.md):\n${violations}")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
