using System.Text.RegularExpressions;

namespace FastSidecar.Tests.Layout;

/// <summary>
/// The library's naming rule, checked rather than hoped for: every public type is declared in the namespace
/// <c>FastSidecar</c>, so a user writes one <c>using</c> whichever room implements the type (as
/// <c>System.Net.WebSockets</c> serves its users); every other file's namespace is its folder's.
/// </summary>
public sealed partial class NamespaceRuleTests
{
    [Fact]
    public void Every_public_type_is_in_the_FastSidecar_namespace()
    {
        string[] misplaced = typeof(SidecarWebSocket).Assembly.GetExportedTypes()
            .Where(type => type.Namespace != "FastSidecar")
            .Select(type => type.FullName!)
            .ToArray();

        Assert.Empty(misplaced);
    }

    [Fact]
    public void Every_internal_file_is_in_its_folders_namespace()
    {
        string source = Path.Combine(RepositoryRoot(), "src", "FastSidecar");
        var wrong = new List<string>();
        int checkedFiles = 0;
        foreach (string file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            string text = File.ReadAllText(file);
            Match declared = FileScopedNamespace().Match(text);
            if (!declared.Success)
            {
                wrong.Add($"{relative}: no file-scoped namespace");
                continue;
            }

            checkedFiles++;
            string folder = Path.GetDirectoryName(relative)!.Replace(Path.DirectorySeparatorChar, '.');
            string expected = folder.Length == 0 ? "FastSidecar" : "FastSidecar." + folder;
            string actual = declared.Groups[1].Value;
            bool publicApiFile = actual == "FastSidecar" && PublicTypeDeclaration().IsMatch(text);
            if (actual != expected && !publicApiFile)
            {
                wrong.Add($"{relative}: namespace {actual}, folder says {expected}");
            }
        }

        Assert.True(checkedFiles > 50, $"only {checkedFiles} source files found under {source}");
        Assert.Empty(wrong);
    }

    private static string RepositoryRoot()
    {
        DirectoryInfo? root = new(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "FastSidecar.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new DirectoryNotFoundException("FastSidecar.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^namespace ([A-Za-z.]+);", RegexOptions.Multiline)]
    private static partial Regex FileScopedNamespace();

    [GeneratedRegex(@"^public (?:sealed |static |abstract |readonly |partial |record )*(?:class|struct|enum|record|interface) ", RegexOptions.Multiline)]
    private static partial Regex PublicTypeDeclaration();
}
