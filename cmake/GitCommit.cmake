# Writes OUT = '#define INITBENCH_GIT_COMMIT "<commit>[-dirty]"' for meta.json, at every build
# (a configure-time value goes stale as soon as a commit lands without a reconfigure). "-dirty":
# tracked code or specs differ from the commit. OUT is rewritten only when its text changes, so
# an unchanged commit recompiles nothing.
#   cmake -DSOURCE_DIR=... -DOUT=... -P GitCommit.cmake
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT commit)
  set(commit "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no -- src include cmake
                          CMakeLists.txt experiments
                  WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes)
    string(APPEND commit "-dirty")
  endif()
endif()
set(text "#define INITBENCH_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
