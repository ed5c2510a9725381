// Bulk enrolment from CSV (`provisioner host import FILE`): all or nothing.
//
// Format: a header line naming the columns (mac and name required; ip and rack optional; any
// order), then one host per line. Fields may be "quoted" ("" is a quote inside quotes; a quoted
// field cannot span lines). Blank lines and lines whose first non-blank is '#' are skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/records.h"
#include "provisioner/store.h"

namespace provisioner {

struct LineError {
    std::size_t line = 0;  // 1-based line in the file
    std::string message;
};

struct CsvHost {
    std::size_t line = 0;
    HostSpec spec;
};

struct ParsedCsv {
    std::vector<CsvHost> hosts;
    std::vector<LineError> errors;  // syntax, bad MAC/IP/name/rack, duplicates within the file
};

// Parses without looking at any store.
ParsedCsv parse_hosts_csv(std::string_view text);

struct ImportResult {
    std::size_t imported = 0;
    std::vector<LineError> errors;  // every problem found, in line order
    bool ok() const { return errors.empty(); }
    // "line 3: bad MAC ...\nline 7: ..." for a CLI or an API error body.
    std::string summary() const;
};

// Parses text and enrols every host (state enrolled, event reason `reason`) in one transaction.
// A MAC or name already in the store is an error on that line. If any line is bad, nothing is
// imported and every error is reported. A storage failure is returned as the Status.
Result<ImportResult> import_hosts_csv(Store& store, std::string_view text,
                                      const std::string& reason = "imported from CSV");

}  // namespace provisioner
