using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Packaging;

/// <summary>
/// Packs the five shipped projects with a version no cache can hold (<c>0.0.0-local.&lt;timestamp&gt;</c>), checks what
/// each package carries and that ActorThrottle.Hosting does not depend on the cluster packages, then restores
/// <c>samples/PackageConsumer</c> against that folder with an empty <c>NUGET_PACKAGES</c>, builds it with no warning and
/// runs it: it asks the simulator once through the packed IChatClient, then streams one answer (at least three updates).
/// Then <c>samples/PackageConsumer.HostingOnly</c> (an ASP.NET Core app referencing ActorThrottle.Hosting alone) builds
/// with no warning, no cluster assembly in its output, and runs; its DLL count and size are printed.
/// Long: it restores from the registry and builds seven projects (about two minutes on 2 cores).
/// <c>dotnet test tests/ActorThrottle.Tests -c Release --filter "FullyQualifiedName~PackageConsumerSpec"</c>
/// </summary>
[Trait("Category", "Long")]
public sealed class PackageConsumerSpec(ITestOutputHelper output)
{
    private static readonly string[] Packages = ["ActorThrottle", "ActorThrottle.Cluster", "ActorThrottle.Hosting", "ActorThrottle.Extensions.AI", "ActorThrottle.Simulator"];

    [Fact]
    public void Packed_packages_restore_build_and_answer_in_a_consumer_app()
    {
        var repo = RepositoryRoot();
        var version = "0.0.0-local." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var work = Directory.CreateTempSubdirectory("actorthrottle-pack-").FullName;
        try
        {
            var packages = Path.Combine(work, "packages");
            var artifacts = Path.Combine(work, "artifacts");
            foreach (var id in new[] { "ActorThrottle.Extensions.AI", "ActorThrottle.Hosting", "ActorThrottle.Cluster", "ActorThrottle.Simulator", "ActorThrottle" })
            {
                Run(repo, "pack", Path.Combine("src", id, id + ".csproj"), "-c", "Release", "-p:Version=" + version, "-o", packages, "--artifacts-path", artifacts);
            }

            foreach (var id in Packages)
            {
                AssertPackage(Path.Combine(packages, $"{id}.{version}.nupkg"), id, version);
            }

            var consumer = Path.Combine(work, "consumer");
            Directory.CreateDirectory(consumer);
            foreach (var file in new[] { "PackageConsumer.csproj", "Program.cs", "Directory.Build.props", "Directory.Packages.props" })
            {
                File.Copy(Path.Combine(repo, "samples", "PackageConsumer", file), Path.Combine(consumer, file));
            }
            var cache = Path.Combine(work, "nuget-cache");
            var build = Run(consumer, "build", "-c", "Release", "-p:ActorThrottleVersion=" + version, "-p:ActorThrottlePackages=" + packages,
                "-p:NuGetAudit=false", "--env-cache", cache);
            AssertNoWarnings(build);
            // Every ActorThrottle package it uses came from the fresh folder into the empty cache; the cluster ones did not come at all.
            foreach (var id in Packages.Where(p => p != "ActorThrottle.Cluster"))
            {
                Assert.True(Directory.Exists(Path.Combine(cache, id.ToLowerInvariant(), version)), $"{id} {version} not restored into the isolated cache");
            }
            foreach (var id in new[] { "actorthrottle.cluster", "akka.cluster", "akka.cluster.sharding", "lightningdb" })
            {
                Assert.False(Directory.Exists(Path.Combine(cache, id)), $"{id} was restored for an app that does not use the cluster");
            }

            var run = Run(consumer, "exec", Path.Combine(consumer, "bin", "Release", "net10.0", "PackageConsumer.dll"));
            Assert.Contains("CONSUMER OK", run);
            Assert.Contains("ActorThrottle " + version, run);

            // The smallest app: ActorThrottle.Hosting alone in an ASP.NET Core project.
            var hostingOnly = Path.Combine(work, "hosting-only");
            Directory.CreateDirectory(hostingOnly);
            foreach (var file in new[] { "PackageConsumer.HostingOnly.csproj", "Program.cs", "Directory.Build.props", "Directory.Packages.props" })
            {
                File.Copy(Path.Combine(repo, "samples", "PackageConsumer.HostingOnly", file), Path.Combine(hostingOnly, file));
            }
            AssertNoWarnings(Run(hostingOnly, "build", "-c", "Release", "-p:ActorThrottleVersion=" + version, "-p:ActorThrottlePackages=" + packages,
                "-p:NuGetAudit=false", "--env-cache", cache));
            var bin = new DirectoryInfo(Path.Combine(hostingOnly, "bin", "Release", "net10.0"));
            var dlls = bin.GetFiles("*.dll");
            output.WriteLine($"ActorThrottle.Hosting alone: {dlls.Length} DLLs, {dlls.Sum(f => f.Length) / 1e6:F1} MB of DLLs, " +
                $"{bin.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1e6:F1} MB in bin: {string.Join(' ', dlls.Select(f => f.Name).Order(StringComparer.Ordinal))}");
            Assert.DoesNotContain(dlls, f => f.Name.StartsWith("Akka.Cluster", StringComparison.Ordinal) || f.Name is "LightningDB.dll" or "ActorThrottle.Cluster.dll");
            Assert.Contains(dlls, f => f.Name == "ActorThrottle.Hosting.dll");
            Assert.Contains("HOSTING-ONLY OK", Run(hostingOnly, "exec", Path.Combine(bin.FullName, "PackageConsumer.HostingOnly.dll")));
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // "0 Warning(s)" in the summary, and no NU/CS warning line above it (NU1603 from LightningDB was the usual one).
    private static void AssertNoWarnings(string buildOutput)
    {
        Assert.Contains("0 Warning(s)", buildOutput);
        Assert.DoesNotContain(": warning ", buildOutput);
    }

    private static void AssertPackage(string path, string id, string version)
    {
        Assert.True(File.Exists(path), $"missing {path}");
        using var zip = ZipFile.OpenRead(path);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("README.md", entries);
        Assert.Contains($"lib/net10.0/{id}.dll", entries);
        Assert.Contains($"lib/net10.0/{id}.xml", entries);                    // XML docs
        if (id == "ActorThrottle")
        {
            Assert.Contains("content/hocon/reference.conf", entries);
            Assert.Contains("contentFiles/any/any/hocon/reference.conf", entries);
        }
        using var nuspecStream = zip.GetEntry($"{id}.nuspec")!.Open();
        var nuspec = XDocument.Load(nuspecStream);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal(version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("Apache-2.0", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
        Assert.Equal("git", metadata.Element(ns + "repository")!.Attribute("type")!.Value);
        if (id != "ActorThrottle" && id != "ActorThrottle.Simulator")
        {
            // Project references become dependencies on the same version.
            Assert.Contains(metadata.Descendants(ns + "dependency"), d => d.Attribute("id")!.Value == "ActorThrottle" && d.Attribute("version")!.Value == version);
        }
        if (id != "ActorThrottle.Cluster")
        {
            // Only the cluster package may bring Akka.Cluster (and LightningDB through Sharding).
            Assert.DoesNotContain(metadata.Descendants(ns + "dependency"), d => d.Attribute("id")!.Value is var dep
                && (dep.StartsWith("Akka.Cluster", StringComparison.Ordinal) || dep == "ActorThrottle.Cluster"));
        }
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/>; <c>--env-cache DIR</c> sets NUGET_PACKAGES for that run. Returns stdout.</summary>
    private string Run(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--env-cache")
            {
                start.Environment["NUGET_PACKAGES"] = args[++i];
                continue;
            }
            start.ArgumentList.Add(args[i]);
        }
        if (args[0] is "pack" or "build")
        {
            start.ArgumentList.Add("--disable-build-servers");
            start.ArgumentList.Add("-nologo");
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // The test host's MSBuild variables would point the child build at this build's SDK state.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in 8 minutes");
        }
        var text = stdout.Result;
        output.WriteLine($"dotnet {string.Join(' ', start.ArgumentList)} → exit {process.ExitCode} in {watch.Elapsed.TotalSeconds:F1} s");
        if (process.ExitCode != 0)
        {
            output.WriteLine(text);
            output.WriteLine(stderr.Result);
        }
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{Tail(text)}\n{Tail(stderr.Result)}");
        return text;
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ActorThrottle.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("ActorThrottle.sln not found above " + AppContext.BaseDirectory);
    }
}
