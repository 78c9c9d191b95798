// Launches Chromium through rotor_cdp, prints "<pgid> <run dir>", then waits to be killed. The
// faults suite SIGKILLs it to prove no Chromium outlives a dead worker.
#include "cdp/launcher.hpp"

#include <unistd.h>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: cdp_orphan_helper PROFILE_ROOT\n";
        return 2;
    }
    rotor::cdp::launch_options options;
    options.profile_root = argv[1];
    auto launched = rotor::cdp::launch_chromium(options);
    std::cout << launched.process->pgid() << " " << launched.process->run_dir().string()
              << std::endl;
    for (;;) ::pause();
}
