# lowbit_own_target(TARGET): the flags every target lowbit builds itself gets.
# Warnings are errors here; consumers of the INTERFACE target are not affected.
function(lowbit_own_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
    # g++ 12 at -O3 reports a false -Wrestrict inside libstdc++'s std::string operator+ (GCC PR 105329).
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
  if(LOWBIT_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
