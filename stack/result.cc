#include "stack/result.h"

#include <cstring>

namespace zcb {

std::string Error::ToString() const {
  if (errno_ == 0) return what_;
  return fmt::format("{}: {}", what_, std::strerror(errno_));
}

Error& Error::Context(const std::string& context) {
  what_ = what_.empty() ? context : context + ": " + what_;
  return *this;
}

}  // namespace zcb
