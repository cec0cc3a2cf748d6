using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastSidecar.Cli;

/// <summary>Writes a command's numbers to the file named by <c>--json</c>.</summary>
internal static class JsonOutput
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write<T>(FileInfo file, T value)
    {
        string? directory = file.DirectoryName;
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(file.FullName, JsonSerializer.Serialize(value, s_options) + Environment.NewLine);
    }
}
