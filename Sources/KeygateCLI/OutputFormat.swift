import ControlPlane
import Foundation

/// `--format`: `table` (default), `json`, `yaml`, or gcloud's `value(field.path[0].x, …)` for scripts.
enum OutputFormat {
    case table
    case json
    case yaml
    case value([String])

    init(_ text: String?) throws {
        switch text {
        case nil, "table", "default": self = .table
        case "json": self = .json
        case "yaml": self = .yaml
        case let t? where t.hasPrefix("value(") && t.hasSuffix(")"):
            let inner = t.dropFirst("value(".count).dropLast()
            self = .value(inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        case let t?:
            throw CLIError("Invalid --format \"\(t)\": use table, json, yaml or value(FIELD,…).")
        }
    }

    /// Resolves `a.b[0].c` in a JSON value.
    static func lookup(_ path: String, in value: JSONValue) -> JSONValue? {
        var current: JSONValue? = value
        for part in path.split(separator: ".") {
            var name = Substring(part)
            var index: Int?
            if let open = part.firstIndex(of: "["), part.hasSuffix("]") {
                name = part[..<open]
                index = Int(part[part.index(after: open)..<part.index(before: part.endIndex)])
            }
            if !name.isEmpty { current = current?[String(name)] }
            if let index {
                guard let array = current?.arrayValue, array.indices.contains(index) else { return nil }
                current = array[index]
            }
        }
        return current
    }

    static func plain(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let s)?: s
        case .bool(let b)?: b ? "True" : "False"
        case .number(let n)?: n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case let other?: other.jsonText().replacingOccurrences(of: "\n", with: "")
        }
    }
}

/// YAML as gcloud prints resources: block style, keys sorted, strings quoted only when needed.
enum YAMLRenderer {
    static func render(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, into: &out, inline: false)
        return out
    }

    private static func write(_ value: JSONValue, indent: Int, into out: inout String, inline: Bool) {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let o) where !o.isEmpty:
            var first = true
            for key in o.keys.sorted() {
                let v = o[key]!
                let prefix = (first && inline) ? "" : pad
                first = false
                switch v {
                case .object(let inner) where !inner.isEmpty:
                    out += "\(prefix)\(key):\n"
                    write(v, indent: indent + 2, into: &out, inline: false)
                case .array(let items) where !items.isEmpty:
                    out += "\(prefix)\(key):\n"
                    write(v, indent: indent, into: &out, inline: false)
                default:
                    out += "\(prefix)\(key): \(scalar(v))\n"
                }
            }
        case .array(let items) where !items.isEmpty:
            for item in items {
                out += "\(pad)- "
                switch item {
                case .object(let o) where !o.isEmpty: write(item, indent: indent + 2, into: &out, inline: true)
                default: out += scalar(item) + "\n"
                }
            }
        default:
            out += "\(pad)\(scalar(value))\n"
        }
    }

    static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number: OutputFormat.plain(value)
        case .object: "{}"
        case .array: "[]"
        case .string(let s):
            needsQuotes(s) ? "'" + s.replacingOccurrences(of: "'", with: "''") + "'" : s
        }
    }

    private static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty || ["true", "false", "null", "yes", "no", "on", "off", "~"].contains(s.lowercased()) { return true }
        if Double(s) != nil { return true }
        if let first = s.first, "-?:,[]{}#&*!|>'\"%@`".contains(first) || first == " " { return true }
        return s.contains(": ") || s.contains(" #") || s.hasSuffix(" ") || s.hasSuffix(":") || s.contains("\n")
    }
}

/// Column tables for list output.
enum TableRenderer {
    static func render(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

/// Prints one resource or a list in the chosen format.
struct ResourcePrinter {
    let format: OutputFormat

    func printResource(_ value: JSONValue, fields: [(String, String)]) {
        switch format {
        case .json: print(value.jsonText())
        case .yaml: print(YAMLRenderer.render(value), terminator: "")
        case .value(let paths): print(paths.map { OutputFormat.plain(OutputFormat.lookup($0, in: value)) }.joined(separator: "\t"))
        case .table:
            let rows = fields.map { [$0.0, OutputFormat.plain(OutputFormat.lookup($0.1, in: value))] }
            print(TableRenderer.render(headers: ["FIELD", "VALUE"], rows: rows), terminator: "")
        }
    }

    func printList(_ values: [JSONValue], columns: [(String, (JSONValue) -> String)]) {
        switch format {
        case .json: print(JSONValue.array(values).jsonText())
        case .yaml:
            for (i, v) in values.enumerated() {
                if i > 0 { print("---") }
                print(YAMLRenderer.render(v), terminator: "")
            }
        case .value(let paths):
            for v in values { print(paths.map { OutputFormat.plain(OutputFormat.lookup($0, in: v)) }.joined(separator: "\t")) }
        case .table:
            if values.isEmpty {
                FileHandle.standardError.write(Data("Listed 0 items.\n".utf8))
                return
            }
            print(TableRenderer.render(headers: columns.map(\.0), rows: values.map { v in columns.map { $0.1(v) } }), terminator: "")
        }
    }
}
