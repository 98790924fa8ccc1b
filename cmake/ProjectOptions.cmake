# Build options and the INTERFACE targets that carry flags. Nothing here touches
# global flags: every project target links idsync::options PRIVATE instead.

option(IDSYNC_WERROR "Treat compiler warnings as errors (CI builds)" OFF)
set(IDSYNC_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers for every project target, e.g. address,undefined")
option(IDSYNC_FUZZ "Build libFuzzer targets (needs clang)" OFF)
option(IDSYNC_BUILD_BENCH "Build benchmarks in bench/" ON)
option(IDSYNC_MIMALLOC "Link the idsync binary with mimalloc (off under sanitizers)" ON)

add_library(idsync_options INTERFACE)
add_library(idsync::options ALIAS idsync_options)
target_compile_features(idsync_options INTERFACE cxx_std_20)
target_compile_options(idsync_options INTERFACE -Wall -Wextra -Wpedantic
                       $<$<BOOL:${IDSYNC_WERROR}>:-Werror>)
# GCC 12 reports Asio's coroutine frame allocation (aligned_alloc, released
# by the matching deallocation) as mismatched new/delete once it inlines the
# frame's operator new: a false positive that -Werror would turn into a failure.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(idsync_options INTERFACE -Wno-mismatched-new-delete)
endif()
if(IDSYNC_SANITIZE)
  target_compile_options(idsync_options INTERFACE
                         -fsanitize=${IDSYNC_SANITIZE} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(idsync_options INTERFACE -fsanitize=${IDSYNC_SANITIZE})
endif()

# idsync_module(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One static library per top-level module, aliased idsync::<name>, whose public
# headers live in <module>/include/idsync/<name>/.
function(idsync_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(idsync_${name} STATIC ${ARG_SOURCES})
  add_library(idsync::${name} ALIAS idsync_${name})
  target_include_directories(idsync_${name}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(idsync_${name} PUBLIC ${ARG_PUBLIC_DEPS}
                        PRIVATE idsync::options ${ARG_PRIVATE_DEPS})
  target_compile_features(idsync_${name} PUBLIC cxx_std_20)
endfunction()

# idsync::version: the generated header <idsync/version.h> (IDSYNC_VERSION).
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in
               ${PROJECT_BINARY_DIR}/generated/idsync/version.h @ONLY)
add_library(idsync_version INTERFACE)
add_library(idsync::version ALIAS idsync_version)
target_include_directories(idsync_version INTERFACE
                           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)

# idsync::allocator: mimalloc in place of glibc's malloc for the idsync binary.
# A 1 M-user plan makes tens of millions of small allocations on two threads;
# mimalloc's thread-local free lists cut the plan's wall time by about a tenth
# (bench/README.md). Linked as a shared library listed before libc, it
# overrides malloc for the whole process. Sanitizers bring their own
# allocator, so they get glibc's (also when passed in CMAKE_CXX_FLAGS, as the
# ThreadSanitizer build in docs/reliability.md does). Without mimalloc the
# build goes on with glibc's malloc and says so.
add_library(idsync_allocator INTERFACE)
add_library(idsync::allocator ALIAS idsync_allocator)
if(IDSYNC_MIMALLOC AND NOT IDSYNC_SANITIZE AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  find_package(mimalloc 2.0 CONFIG)
  if(mimalloc_FOUND)
    # No symbol of main.o needs the library: under -Wl,--as-needed (some
    # distributions' default) it would be dropped, and malloc silently stay
    # glibc's.
    target_link_libraries(idsync_allocator INTERFACE
                          "-Wl,--push-state,--no-as-needed" mimalloc "-Wl,--pop-state")
  else()
    message(WARNING "mimalloc 2 not found (Debian: libmimalloc-dev): the idsync binary "
                    "uses glibc's malloc, and a 1 M-user plan takes about a tenth longer")
  endif()
endif()
