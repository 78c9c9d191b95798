# Everything about how rotor is compiled lives on one INTERFACE target, never in CMAKE_CXX_FLAGS.
add_library(rotor_project_options INTERFACE)
add_library(rotor::project_options ALIAS rotor_project_options)

target_compile_features(rotor_project_options INTERFACE cxx_std_20)
target_compile_options(rotor_project_options INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wdouble-promotion -Wformat=2
    -Wimplicit-fallthrough
    # GCC 12 misreads asio awaitable frames' class-specific operator delete.
    -Wno-mismatched-new-delete
    # Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (GCC 12).
    -include utility)
target_compile_definitions(rotor_project_options INTERFACE
    BOOST_ASIO_NO_DEPRECATED
    BOOST_BEAST_USE_STD_STRING_VIEW)

# GCC 12 takes a coroutine frame's local types for types of another file once sources are
# included into one unity file, and warns about every co_await on them; only unity targets
# (ROTOR_UNITY_BUILD or CMAKE_UNITY_BUILD) drop the warning.
target_compile_options(rotor_project_options INTERFACE
    $<$<BOOL:$<TARGET_PROPERTY:UNITY_BUILD>>:-Wno-subobject-linkage>)

if(ROTOR_WERROR)
    target_compile_options(rotor_project_options INTERFACE -Werror)
endif()

if(ROTOR_SANITIZE)
    string(REPLACE ";" "," _rotor_sanitizers "${ROTOR_SANITIZE}")
    target_compile_options(rotor_project_options INTERFACE
        -fsanitize=${_rotor_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(rotor_project_options INTERFACE -fsanitize=${_rotor_sanitizers})
endif()
