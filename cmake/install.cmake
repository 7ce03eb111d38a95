# cmake --install: the public headers, the library, a CMake package (find_package(spanstore)
# -> spanstore::spanstore) and a pkg-config file (spanstore.pc). Included from the top-level
# CMakeLists.txt once the spanstore target exists. tests/package/ checks the result.

include(CMakePackageConfigHelpers)

set(SPANSTORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/spanstore)
if(BUILD_SHARED_LIBS)
  set(SPANSTORE_STATIC OFF)
else()
  set(SPANSTORE_STATIC ON)
endif()

install(TARGETS spanstore EXPORT spanstoreTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${SPANSTORE_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/spanstore)

# The CMake package. The imported target is spanstore::spanstore, the name add_subdirectory
# users get from the alias.
install(EXPORT spanstoreTargets NAMESPACE spanstore:: DESTINATION ${SPANSTORE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/spanstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/spanstoreConfig.cmake
  INSTALL_DESTINATION ${SPANSTORE_CMAKE_DIR})
# Before 1.0 a minor release may break the API (semantic versioning's rule for 0.x), so a
# request for 0.1 accepts 0.1.x only; from 1.0 on, any release of the same major version.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spanstoreConfigVersion.cmake
  COMPATIBILITY ${compatibility})
install(FILES ${PROJECT_BINARY_DIR}/spanstoreConfig.cmake
              ${PROJECT_BINARY_DIR}/spanstoreConfigVersion.cmake
        DESTINATION ${SPANSTORE_CMAKE_DIR})

# The pkg-config file, relocatable (paths relative to ${pcfiledir}) so that it stays right
# under `cmake --install --prefix <dir>` and when the installed tree is moved.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" up "${up}")
  set(PC_PREFIX "\${pcfiledir}/${up}")
  set(PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Requires: the Abseil modules of SPANSTORE_PUBLIC_LIBS (absl::status is absl_status.pc).
set(PC_REQUIRES "")
foreach(lib IN LISTS SPANSTORE_PUBLIC_LIBS)
  if(lib MATCHES "^absl::(.*)$")
    list(APPEND PC_REQUIRES "absl_${CMAKE_MATCH_1}")
  endif()
endforeach()
list(JOIN PC_REQUIRES " " PC_REQUIRES)
set(PC_LIBS "${CMAKE_THREAD_LIBS_INIT}")  # Threads::Threads; empty where libc has pthreads
# A static library's own dependencies are the program's to link (pkg-config --static); a
# shared one names them itself (DT_NEEDED), and listing them would make pkg-config demand
# their development files for nothing.
if(SPANSTORE_STATIC)
  set(PC_REQUIRES_PRIVATE "liblz4 libzstd libxxhash re2 simdjson zlib")
else()
  set(PC_REQUIRES_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/spanstore.pc.in ${PROJECT_BINARY_DIR}/spanstore.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/spanstore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
