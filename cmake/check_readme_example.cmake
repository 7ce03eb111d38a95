# Fails when the README's embedding example differs from the file the package tests build.
#   cmake -DREADME=<README.md> -DEXAMPLE=<embed_example.cc> -P check_readme_example.cmake
cmake_policy(VERSION 3.20)
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "<!-- embed_example.cc" marker)
if(marker EQUAL -1)
  message(FATAL_ERROR "README: no '<!-- embed_example.cc' marker before the example")
endif()
string(SUBSTRING "${readme}" ${marker} -1 rest)
string(FIND "${rest}" "```cpp\n" open)
math(EXPR start "${open} + 7")
string(SUBSTRING "${rest}" ${start} -1 rest)
string(FIND "${rest}" "```" close)
string(SUBSTRING "${rest}" 0 ${close} shown)
if(NOT shown STREQUAL example)
  message(FATAL_ERROR "README's embedding example differs from ${EXAMPLE}: copy the file into "
                      "the README (or the README's code into the file)")
endif()
