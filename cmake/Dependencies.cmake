# Every third-party dependency comes from a Debian 12 package (see scripts/bootstrap).
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS json url CONFIG)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(LDAP REQUIRED IMPORTED_TARGET ldap)

# Asio/Beast are header-only; this target carries the definitions we want for
# every translation unit that includes them.
add_library(idsync_asio INTERFACE)
add_library(idsync::asio ALIAS idsync_asio)
target_link_libraries(idsync_asio INTERFACE Boost::headers OpenSSL::SSL
                      OpenSSL::Crypto Threads::Threads)
# (Boost 1.81's beast::string_view converts to and from std::string_view by
# itself; the old BOOST_BEAST_USE_STD_STRING_VIEW only printed a deprecation
# note in every file that included Beast.)
target_compile_definitions(idsync_asio INTERFACE BOOST_ASIO_NO_DEPRECATED)
