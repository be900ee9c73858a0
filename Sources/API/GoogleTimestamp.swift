import Foundation

/// RFC 3339 timestamps as Google's JSON APIs write them: UTC, `Z`, and fractional seconds only when
/// there are some (google-auth parses `expireTime` with a whole-seconds format).
enum GoogleTimestamp {
    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        let whole = date.timeIntervalSince1970.rounded(.down) == date.timeIntervalSince1970
        formatter.formatOptions = whole ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
