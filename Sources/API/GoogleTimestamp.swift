import Foundation

/// RFC 3339 timestamps as Google's JSON APIs write them (UTC, fractional seconds, `Z`).
enum GoogleTimestamp {
    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
