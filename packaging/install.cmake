# install.cmake — what `cmake --install` puts where (GNUInstallDirs), and the
# .deb CPack makes of it (`cpack -G DEB` in the build folder). Included from
# the top CMakeLists.txt after the pacsaudit target.

# Destinations are relative to the prefix (so `cmake --install --prefix`
# moves them) except /etc for the prefix /usr, which GNUInstallDirs maps there.
set(PA_SYSTEMD_UNITDIR "lib/systemd/system"
    CACHE STRING "where the systemd units go (relative to the prefix, or absolute)")
if(CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}")
  set(PA_CONFDIR_DEST "${CMAKE_INSTALL_SYSCONFDIR}/pacsaudit")
else()
  set(PA_CONFDIR_DEST "${CMAKE_INSTALL_FULL_SYSCONFDIR}/pacsaudit")
endif()
set(PA_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/pacsaudit") # as the units name it

install(TARGETS pacsaudit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY rules/pack/ DESTINATION ${CMAKE_INSTALL_DATADIR}/pacsaudit/rules
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY collectors/decoders/ DESTINATION ${CMAKE_INSTALL_DATADIR}/pacsaudit/decoders
        FILES_MATCHING PATTERN "*.json")
# The demo data (`pacsaudit demo`): the scenario's inputs, policy and roster.
install(FILES fixtures/scenario/README.md fixtures/scenario/policy.json
              fixtures/scenario/roster.csv fixtures/scenario/gw01-auth.log
              fixtures/scenario/pacs01-atna.log fixtures/scenario/viewer01-atna.log
              fixtures/scenario/emr01-audit.ndjson fixtures/scenario/scenario.pcap
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pacsaudit/demo)
install(FILES docs/pacsaudit.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES LICENSE README.md docs/install.md packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Examples: the scenario hospital's policy (with the roster it names) and a
# nightly job config; the latter is also the live config in /etc (a conffile).
install(FILES fixtures/scenario/policy.json fixtures/scenario/roster.csv
              packaging/nightly.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES packaging/nightly.json DESTINATION ${PA_CONFDIR_DEST})
install(DIRECTORY DESTINATION ${PA_CONFDIR_DEST}/rules.d)

foreach(unit pacsaudit-listen.service pacsaudit-nightly.service pacsaudit-nightly.timer)
  configure_file(packaging/systemd/${unit}.in ${CMAKE_BINARY_DIR}/systemd/${unit} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit} DESTINATION ${PA_SYSTEMD_UNITDIR})
endforeach()

# --- the Debian package
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pacsaudit)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pacsaudit")
set(CPACK_PACKAGE_CONTACT "pacsaudit maintainers <pacsaudit@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "PACS audit-log compliance analyzer")
set(CPACK_PACKAGE_DESCRIPTION
  "pacsaudit reads DICOM traffic (pcap), syslog, DICOM ATNA and FHIR AuditEvent\n\
audit messages into one SQLite store with a verifiable hash chain, and checks\n\
them against the MHLW medical information system security guideline 6.0.\n\
It ships a rule pack, syslog decoders, a syslog listener service and a\n\
nightly job timer.\n\
License: Apache-2.0 (/usr/share/doc/pacsaudit/copyright).")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/pacsaudit")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(packaging/debian/conffiles.in ${CMAKE_BINARY_DIR}/debian/conffiles @ONLY)
configure_file(packaging/debian/postinst ${CMAKE_BINARY_DIR}/debian/postinst COPYONLY)
configure_file(packaging/debian/prerm ${CMAKE_BINARY_DIR}/debian/prerm COPYONLY)
configure_file(packaging/debian/postrm ${CMAKE_BINARY_DIR}/debian/postrm COPYONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/debian/conffiles ${CMAKE_BINARY_DIR}/debian/postinst
  ${CMAKE_BINARY_DIR}/debian/prerm ${CMAKE_BINARY_DIR}/debian/postrm)
include(CPack)
