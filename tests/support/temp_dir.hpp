#pragma once
// A directory under $TMPDIR removed with everything in it when the object dies.

#include <filesystem>
#include <string>

namespace rotor::test {

class temp_dir {
  public:
    explicit temp_dir(const std::string& prefix = "rotor-test");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

  private:
    std::filesystem::path path_;
};

} // namespace rotor::test
