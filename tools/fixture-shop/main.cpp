// fixture-shop: serve the deterministic test shop on 127.0.0.1 until SIGINT/SIGTERM.
#include "shop_server.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"rotor fixture shop: deterministic product pages, API and GraphQL on loopback"};
    rotor::fixture::shop_options options;
    std::string port_file;
    app.add_option("--address", options.address, "Address to bind (loopback only)")
        ->check([](const std::string& a) {
            return a.rfind("127.", 0) == 0 || a == "::1" ? std::string() : "must be loopback";
        });
    app.add_option("--port", options.port, "Port to bind; 0 picks a free one");
    app.add_option("--max-rps", options.max_rps,
                   "Answer 429 above this many product requests per second (0 = no limit)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", options.threads, "I/O threads")->check(CLI::Range(1, 64));
    app.add_option("--port-file", port_file, "Write the bound port to this file");
    CLI11_PARSE(app, argc, argv);

    // Block the signals before threads start so only sigwait sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        rotor::fixture::shop_server server(options);
        if (!port_file.empty()) {
            std::ofstream(port_file) << server.port() << '\n';
        }
        std::cout << "fixture-shop listening on " << server.base_url() << std::endl;
        int sig = 0;
        sigwait(&signals, &sig);
        server.stop();
    } catch (const std::exception& e) {
        std::cerr << "fixture-shop: cannot serve on " << options.address << ":" << options.port
                  << ": " << e.what() << '\n';
        return 1;
    }
    return 0;
}
