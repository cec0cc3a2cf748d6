namespace FastSidecar.Protocol;

/// <summary>Which close status codes may appear in a close frame (RFC 6455 §7.4).</summary>
internal static class CloseCodes
{
    /// <summary>True for codes an endpoint may send: 1000–1003, 1007–1014, 3000–4999.</summary>
    /// <remarks>
    /// 1004 is reserved, 1005/1006/1015 are "never on the wire", and the rest of 1000–2999 is reserved for the
    /// protocol. 1012–1014 (service restart, try again later, bad gateway) are IANA-registered after RFC 6455 and
    /// sent by real servers, so they are accepted, as current Autobahn test suites expect.
    /// </remarks>
    public static bool IsValidOnWire(ushort code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
}
