# install() rules (`make install`, or `cmake --install build [--prefix DIR]`; DESTDIR is honoured).
# Under the prefix (default /usr/local):
#   bin/initbench                                   the command line
#   share/initbench/experiments/*.toml              the shipped experiment specs
#   share/doc/initbench/                            README.md and docs/*.md
#   lib/python3.<minor>/dist-packages/initbench/    python/initbench/, if the source tree has it
# The Python directory is the one Debian's /usr/bin/python3 searches for both /usr/local and /usr
# (sys.path holds /usr/local/lib/python3.X/dist-packages and /usr/lib/python3.X/dist-packages;
# lib/python3/dist-packages is searched under /usr only). Any other prefix needs PYTHONPATH.
# tests/CMakeLists.txt checks an install into a temporary DESTDIR (install.destdir).
include(GNUInstallDirs)

set(INITBENCH_PYTHON "/usr/bin/python3" CACHE FILEPATH
    "Debian's Python, whose version names the installed package directory")
if(NOT DEFINED CACHE{INITBENCH_INSTALL_PYTHONDIR})
  set(_initbench_pyver "")
  if(EXISTS "${INITBENCH_PYTHON}")
    execute_process(
      COMMAND "${INITBENCH_PYTHON}" -c "import sys; print('%d.%d' % sys.version_info[:2])"
      OUTPUT_VARIABLE _initbench_pyver OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(_initbench_pyver MATCHES "^3\\.[0-9]+$")
    set(_initbench_pydir "lib/python${_initbench_pyver}/dist-packages")
  else()
    set(_initbench_pydir "lib/python3/dist-packages")   # no Python to ask: Debian's /usr layout
  endif()
  set(INITBENCH_INSTALL_PYTHONDIR "${_initbench_pydir}" CACHE STRING
      "Where python/initbench/ is installed, relative to the prefix (or absolute)")
endif()

install(TARGETS initbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Directories are read at install time, so specs or modules added since the configure are included.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/experiments/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/initbench/experiments
        FILES_MATCHING PATTERN "*.toml")

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

# The Python package (python/initbench/), whole, without byte-code caches; OPTIONAL: nothing to
# install (and no error) while the source tree has no such directory.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/initbench
        DESTINATION ${INITBENCH_INSTALL_PYTHONDIR}
        OPTIONAL
        PATTERN "__pycache__" EXCLUDE
        PATTERN "*.pyc" EXCLUDE)
