using System.Diagnostics;
using System.Text;

namespace PgVectorSearch.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster for one test run: <c>initdb</c> into a temporary directory, <c>pg_ctl start</c>
/// listening on a Unix socket in that directory only (no TCP port), trust authentication for the <c>postgres</c> role;
/// disposing stops it and deletes the directory. As root (CI) the server runs as the <c>postgres</c> account, since
/// PostgreSQL refuses to run as root.
/// </summary>
public sealed class TemporaryPostgres : IAsyncDisposable
{
    private const int Port = 5432; // names the socket file only: the directory is this cluster's alone
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private readonly string binDirectory;
    private readonly string root;
    private readonly bool asPostgresAccount;
    private bool running;

    private TemporaryPostgres(string binDirectory, string root, bool asPostgresAccount)
    {
        this.binDirectory = binDirectory;
        this.root = root;
        this.asPostgresAccount = asPostgresAccount;
    }

    /// <summary>Connects as the superuser over the cluster's socket.</summary>
    public string ConnectionString => $"Host={root};Port={Port};Username=postgres;Database=postgres";

    private string DataDirectory => Path.Combine(root, "data");

    private string LogFile => Path.Combine(root, "postgres.log");

    /// <summary>
    /// The directory holding <c>initdb</c> and <c>pg_ctl</c>: <c>LTE_POSTGRES_BINDIR</c>, else the one of <c>initdb</c> on
    /// PATH, else the newest <c>/usr/lib/postgresql/N/bin</c> (Debian's layout); <see langword="null"/> when none has them.
    /// </summary>
    public static string? FindBinDirectory()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("LTE_POSTGRES_BINDIR") is { Length: > 0 } configured)
            candidates.Add(configured);
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => (Version: int.TryParse(Path.GetFileName(version), out var number) ? number : 0, Bin: Path.Combine(version, "bin")))
                .OrderByDescending(entry => entry.Version)
                .Select(entry => entry.Bin));
        }
        return candidates.FirstOrDefault(directory => File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl")));
    }

    /// <summary>Creates and starts a cluster with the binaries in <paramref name="binDirectory"/>.</summary>
    public static async Task<TemporaryPostgres> StartAsync(string binDirectory, CancellationToken cancellationToken = default)
    {
        var asPostgresAccount = Environment.IsPrivilegedProcess;
        // As root the server's account must reach the directory: /tmp is world-traversable, a custom TMPDIR may not be.
        var root = asPostgresAccount && !OperatingSystem.IsWindows()
            ? Directory.CreateDirectory(Path.Combine("/tmp", "lte-pg-" + Guid.NewGuid().ToString("N")[..12]), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName
            : Directory.CreateTempSubdirectory("lte-pg-").FullName;
        var cluster = new TemporaryPostgres(binDirectory, root, asPostgresAccount);
        try
        {
            if (asPostgresAccount)
                await RunAsync("chown", ["postgres", root], cancellationToken).ConfigureAwait(false);
            await cluster.RunPostgresToolAsync("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"], cancellationToken)
                .ConfigureAwait(false);
            // -w waits until the server accepts connections (or fails), so no polling is needed here.
            await cluster.RunPostgresToolAsync("pg_ctl", ["-D", cluster.DataDirectory, "-l", cluster.LogFile, "-w", "-t", "60",
                "-o", $"-k {root} -p {Port} -c listen_addresses='' -c fsync=off", "start"], cancellationToken).ConfigureAwait(false);
            cluster.running = true;
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops the server (immediately: nothing in it is worth keeping) and deletes the cluster's directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (running)
                await RunPostgresToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None).ConfigureAwait(false);
            running = false;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private Task RunPostgresToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(binDirectory, tool);
        return asPostgresAccount
            ? RunAsync("runuser", ["-u", "postgres", "--", executable, .. arguments], cancellationToken, LogFile)
            : RunAsync(executable, arguments, cancellationToken, LogFile);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? logFile = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {CommandTimeout}.");
        }
        if (process.ExitCode != 0)
        {
            var message = new StringBuilder($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}{await error}");
            if (logFile is not null && File.Exists(logFile))
                message.Append("\nserver log:\n").Append(await File.ReadAllTextAsync(logFile, CancellationToken.None));
            throw new InvalidOperationException(message.ToString());
        }
    }
}
