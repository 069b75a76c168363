#include "modeldna/core/error.h"

#include <utility>

namespace modeldna {

FormatError::FormatError(std::string path, std::string problem)
    : Error(path + ": " + problem), path_(std::move(path)), problem_(std::move(problem)) {}

}  // namespace modeldna
