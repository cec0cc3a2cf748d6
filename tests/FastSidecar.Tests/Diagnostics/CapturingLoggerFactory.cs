using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FastSidecar.Tests.Diagnostics;

/// <summary>An <see cref="ILoggerFactory"/> that keeps every entry, for asserting what was logged.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public List<string> Categories { get; } = [];

    public ILogger CreateLogger(string categoryName)
    {
        lock (Categories)
        {
            Categories.Add(categoryName);
        }

        return new Logger(this);
    }

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    public LogEntry[] Named(string eventName) => Entries.Where(e => e.EventName == eventName).ToArray();

    internal sealed record LogEntry(LogLevel Level, string? EventName, string Message, IReadOnlyDictionary<string, object?> State, Exception? Exception);

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (KeyValuePair<string, object?> pair in pairs)
                {
                    values[pair.Key] = pair.Value;
                }
            }

            owner.Entries.Enqueue(new LogEntry(logLevel, eventId.Name, formatter(state, exception), values, exception));
        }
    }
}
