import Foundation
import Testing
@testable import IAM

// TEMPORARY: cross-check with google-auth; removed before hand-off.
@Test func zzCrossCheck() throws {
    guard let dir = ProcessInfo.processInfo.environment["KEYGATE_XCHECK_DIR"] else { return }
    let keyPath = dir + "/key.json"
    let assertionPath = dir + "/assertion.txt"
    if !FileManager.default.fileExists(atPath: keyPath) {
        let m = try ServiceAccountKeyFactory.make(projectID: "my-project", email: "app@my-project.iam.gserviceaccount.com",
                                                  clientID: "1234", tokenURI: "http://127.0.0.1:8089/token")
        try m.keyFileJSON.write(to: URL(fileURLWithPath: keyPath))
        try m.publicKeyPEM.write(toFile: dir + "/pub.pem", atomically: true, encoding: .utf8)
        return
    }
    let pem = try String(contentsOfFile: dir + "/pub.pem", encoding: .utf8)
    let file = try JSONDecoder().decode(ServiceAccountKeyFile.self, from: Data(contentsOf: URL(fileURLWithPath: keyPath)))
    var out = ""
    for line in try String(contentsOfFile: assertionPath, encoding: .utf8).split(separator: "\n") {
        let r = try JWTBearerAssertion.verify(String(line), publicKey: { $0 == file.privateKeyID ? ServiceAccountPublicKey(pem: pem, serviceAccountEmail: file.clientEmail) : nil },
                                              expectedAudience: "http://127.0.0.1:8089/token", now: Date())
        out += "\(r)\n"
    }
    // Also our signer, for google-auth's verifier.
    out += "OURS " + (try JWTBearerAssertion.sign(keyFile: file, scopes: ["s1", "s2"], now: Date())) + "\n"
    try out.write(toFile: dir + "/result.txt", atomically: true, encoding: .utf8)
}
