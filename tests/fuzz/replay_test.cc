// The replay of a fuzz target's inputs as a plain test, built by every build with tests
// (no clang needed): each file of the target's seed corpus (tests/fuzz/corpus/<target>/)
// and of its regression inputs (tests/fuzz/regressions/<target>/, the reproducers of what
// fuzzing found) goes through the target's entry point, LLVMFuzzerTestOneInput. A target
// checks its properties with abort(), so an input that breaks one ends this test too; under
// ZCB_SANITIZE the sanitizers watch every input as they do when fuzzing.
//
// Built once per target (tests/fuzz/CMakeLists.txt): ZCB_FUZZ_TARGET names it and
// ZCB_FUZZ_INPUTS is the folder of corpus/ and regressions/.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> InputsIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

size_t Replay(const std::vector<fs::path>& files) {
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_TRUE(in.eof() || in.good()) << "cannot read " << file;
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  return files.size();
}

TEST(FuzzReplay, SeedCorpus) {
  const fs::path dir = fs::path(ZCB_FUZZ_INPUTS) / "corpus" / ZCB_FUZZ_TARGET;
  // Every target has seeds: an empty folder would make this test (and fuzzing) blind.
  EXPECT_GT(Replay(InputsIn(dir)), 0u) << "no seed inputs in " << dir;
}

TEST(FuzzReplay, RegressionInputs) {
  // Reproducers of what fuzzing found; a target may have none yet.
  const size_t replayed = Replay(InputsIn(fs::path(ZCB_FUZZ_INPUTS) / "regressions" / ZCB_FUZZ_TARGET));
  RecordProperty("inputs", static_cast<int>(replayed));
}

}  // namespace
